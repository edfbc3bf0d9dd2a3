// A real, certified OpenID Connect provider (panva/oidc-provider) on loopback for the
// test suite: it issues RFC 9068 JWT access tokens by the client-credentials grant, and to
// browsers by the authorization-code flow with PKCE (its development login form accepts any
// account name and password; the consent form follows).
//
// Usage: node provider.mjs PORT CONFIG_JSON   (PORT 0 = any free port)
// Prints exactly one line "READY <port>" to stdout once it accepts requests; the issuer
// is http://127.0.0.1:<port>. Every request is logged to stderr as "REQUEST <METHOD>
// <path>", so a test can count the JWKS fetches from the provider's own log. Exits 0
// on SIGTERM/SIGINT.
//
// CONFIG_JSON names a file holding
//   { "jwks": {"keys": [private JWKs]},        // signing keys; the first RS256 one signs
//     "resources": ["https://hub.example"],    // resource indicators (token audiences)
//     "clients": [{"client_id", "client_secret",
//                  "claims": {...}}],           // extra top-level claims of its tokens
//     "accounts": {"ana": {...}} }             // extra claims of the access tokens a
//                                              // signed-in account's browser flow gives
// Clients for the authorization-code flow register themselves (RFC 7591, POST /reg), with
// their redirect URIs and token endpoint authentication method. An authorization request
// without a resource indicator gets tokens for the first of "resources".
// Keys are fixed when the Provider is built: rotating them means restarting this script
// with another JWKS on the same port (the issuer holds the port).
//
// Plain http: oidc-provider accepts any web URI as issuer; its interaction cookies work
// on plain http too (not Secure there).

import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import Provider, { errors } from 'oidc-provider';

const ACCESS_TOKEN_TTL_S = 300;

const [rawPort, configPath] = process.argv.slice(2);
const port = Number(rawPort);
if (!Number.isInteger(port) || port < 0 || port > 65535 || !configPath) {
  console.error('usage: node provider.mjs PORT CONFIG_JSON');
  process.exit(2);
}
const config = JSON.parse(readFileSync(configPath, 'utf8'));
const claimsOf = new Map(config.clients.map((c) => [c.client_id, c.claims ?? {}]));
const accountClaims = new Map(Object.entries(config.accounts ?? {}));
const resources = new Set(config.resources);

function provider(issuer) {
  const op = new Provider(issuer, {
    jwks: config.jwks,
    clients: config.clients.map(({ client_id, client_secret }) => ({
      client_id,
      client_secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    })),
    cookies: { keys: ['test-cookie-key-not-secret'] },
    features: {
      devInteractions: { enabled: true },
      clientCredentials: { enabled: true },
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf ?? config.resources[0],
        useGrantedResource: async () => true,
        async getResourceServerInfo(ctx, resourceIndicator) {
          if (!resources.has(resourceIndicator)) throw new errors.InvalidTarget();
          return {
            scope: 'hub',
            accessTokenFormat: 'jwt',
            accessTokenTTL: ACCESS_TOKEN_TTL_S,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    async extraTokenClaims(ctx, token) {
      if (token.accountId) return accountClaims.get(token.accountId) ?? {};
      return claimsOf.get(token.clientId);
    },
    ttl: {
      ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_S,
      AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_S,
    },
  });
  op.use(async (ctx, next) => {
    console.error(`REQUEST ${ctx.method} ${ctx.path}`);
    await next();
  });
  return op;
}

const server = createServer();
server.on('error', (error) => {
  console.error(`cannot listen on 127.0.0.1:${port}: ${error.message}`);
  process.exit(1);
});
server.listen(port, '127.0.0.1', () => {
  const bound = server.address().port;
  server.on('request', provider(`http://127.0.0.1:${bound}`).callback());
  process.stdout.write(`READY ${bound}\n`);
});

function shutdown(signal) {
  console.error(`${signal} received, stopping`);
  server.closeAllConnections();
  server.close(() => process.exit(0));
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
