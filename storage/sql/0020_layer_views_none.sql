-- No PostGIS on this server: layers are not published as PostGIS views (migration 20's
-- other variant); the hub reads and serves them as before.
INSERT INTO hub_meta (key, value) VALUES ('layer_views', 'none')
ON CONFLICT (key) DO NOTHING;
