-- Devices (device tracking): created unconfirmed when a sign-in hands out NewDeviceMetadata,
-- confirmed by ConfirmDevice with the device's own SRP verifier.
CREATE TABLE devices (
    device_key TEXT PRIMARY KEY,
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- DEVICE_GROUP_KEY: the "pool name" of the device's SRP.
    group_key TEXT NOT NULL,
    -- From DeviceSecretVerifierConfig, as hex; empty until confirmed.
    salt TEXT NOT NULL DEFAULT '',
    verifier TEXT NOT NULL DEFAULT '',
    name TEXT NOT NULL DEFAULT '',
    confirmed BIGINT NOT NULL DEFAULT 0,
    remembered BIGINT NOT NULL DEFAULT 0,
    -- Unix milliseconds.
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    authenticated_at BIGINT NOT NULL
);

CREATE INDEX devices_by_user ON devices (user_pool_id, sub, device_key);
