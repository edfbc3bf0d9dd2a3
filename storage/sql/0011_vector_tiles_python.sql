-- Vector tiles built by the hub from the features' WKB (no PostGIS on this server).
INSERT INTO hub_meta (key, value) VALUES ('vector_tiles', 'python')
ON CONFLICT (key) DO NOTHING;
