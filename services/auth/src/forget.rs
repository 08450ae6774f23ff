//! Forgetting what the issuer holds for a user or a pool the directory deleted: every table
//! keyed by pool and sub, and for a pool its signing keys.

use cognate_common::CognitoResult;
use cognate_common::store::store_error;

use crate::Auth;

impl Auth {
    /// ForgetUser: the user's rows in every table, in one transaction.
    pub(crate) async fn forget_user(&self, pool_id: &str, sub: &str) -> CognitoResult<()> {
        let statements = [
            "DELETE FROM refresh_tokens WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM user_sign_outs WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM devices WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM software_tokens WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM otp_factors WHERE user_pool_id = $1 AND sub = $2",
            "DELETE FROM lockouts WHERE user_pool_id = $1 AND sub = $2",
        ];
        self.delete_all(&statements, &[pool_id, sub]).await
    }

    /// ForgetPool: the rows of every user of the pool and its signing keys, in one transaction.
    pub(crate) async fn forget_pool(&self, pool_id: &str) -> CognitoResult<()> {
        let statements = [
            "DELETE FROM refresh_tokens WHERE user_pool_id = $1",
            "DELETE FROM user_sign_outs WHERE user_pool_id = $1",
            "DELETE FROM devices WHERE user_pool_id = $1",
            "DELETE FROM software_tokens WHERE user_pool_id = $1",
            "DELETE FROM otp_factors WHERE user_pool_id = $1",
            "DELETE FROM lockouts WHERE user_pool_id = $1",
            "DELETE FROM signing_keys WHERE user_pool_id = $1",
        ];
        self.delete_all(&statements, &[pool_id]).await
    }

    async fn delete_all(&self, statements: &[&'static str], keys: &[&str]) -> CognitoResult<()> {
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        for statement in statements {
            let mut query = sqlx::query(*statement);
            for key in keys {
                query = query.bind(*key);
            }
            query
                .execute(&mut *transaction)
                .await
                .map_err(store_error)?;
        }
        transaction.commit().await.map_err(store_error)
    }
}
