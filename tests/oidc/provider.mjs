// A real, certified OpenID Connect provider (panva/oidc-provider) on loopback for the
// test suite: it issues RFC 9068 JWT access tokens by the client-credentials grant.
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
//                  "claims": {...}}] }          // extra top-level claims of its tokens
// Keys are fixed when the Provider is built: rotating them means restarting this script
// with another JWKS on the same port (the issuer holds the port).
//
// Plain http: oidc-provider accepts any web URI as issuer; only its cookies and
// interactions care about TLS, and the client-credentials grant uses neither.

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
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
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
      return claimsOf.get(token.clientId);
    },
    ttl: { ClientCredentials: (ctx, token) => token.resourceServer?.accessTokenTTL ?? ACCESS_TOKEN_TTL_S },
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
