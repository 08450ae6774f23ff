-- The federation broker's tables. Portable SQL: the same file runs on SQLite and Postgres.

-- One row per identity provider of a user pool: Cognito's IdentityProviderType, stored config.
CREATE TABLE identity_providers (
    user_pool_id TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    provider_type TEXT NOT NULL,
    -- JSON objects of strings, as Cognito's ProviderDetails and AttributeMapping.
    provider_details_json TEXT NOT NULL,
    attribute_mapping_json TEXT NOT NULL,
    -- JSON array of strings, in the order given; `idp_identifiers` below owns uniqueness.
    idp_identifiers_json TEXT NOT NULL,
    -- Unix milliseconds.
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_pool_id, provider_name)
);

-- An IdP identifier belongs to one provider of a pool only; the primary key enforces it under
-- any concurrency.
CREATE TABLE idp_identifiers (
    user_pool_id TEXT NOT NULL,
    idp_identifier TEXT NOT NULL,
    provider_name TEXT NOT NULL,
    PRIMARY KEY (user_pool_id, idp_identifier)
);

CREATE INDEX idp_identifiers_by_provider ON idp_identifiers (user_pool_id, provider_name);
