-- Installation secrets the directory derives values with, e.g. the simulated destinations of
-- existence hiding. Portable SQL.
CREATE TABLE directory_secrets (
    name TEXT PRIMARY KEY,
    -- hex
    value TEXT NOT NULL
);
