-- Password history and risk configurations. Portable SQL.

-- The stored forms of a user's earlier passwords, kept only while the pool's
-- PasswordPolicy.PasswordHistorySize asks for them (the current one is in users).
CREATE TABLE password_history (
    user_pool_id TEXT NOT NULL,
    sub TEXT NOT NULL,
    -- SRP verifier with its own salt, as users.password_hash.
    password_hash TEXT NOT NULL,
    replaced_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, sub, password_hash)
);

CREATE INDEX password_history_by_age ON password_history (user_pool_id, sub, replaced_at);

-- SetRiskConfiguration: one row for the pool (client_id '') and one per configured client.
CREATE TABLE risk_configurations (
    user_pool_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- Cognito's RiskConfigurationType as AWS JSON, without UserPoolId and ClientId.
    config_json TEXT NOT NULL,
    PRIMARY KEY (user_pool_id, client_id)
);
