//! User pool groups and their members. A group is kept as Cognito's `GroupType` JSON; members are
//! rows of (group, `sub`), so a user's sign-in names can change without touching them.

use serde_json::{Map, Value as Json, json};

use cognate_common::clock::{epoch_seconds, unix_millis};
use cognate_common::store::Columns;
use cognate_common::store::{is_unique_violation, store_error};
use cognate_common::{CognitoError, CognitoResult, ErrorCode};

use crate::Directory;
use crate::pools::{decode_token, encode_token, page_limit};
use crate::users::User;

fn group_not_found() -> CognitoError {
    CognitoError::not_found("Group not found.")
}

pub(crate) fn parse_group(text: &str) -> CognitoResult<Json> {
    serde_json::from_str(text)
        .map_err(|error| cognate_common::error::internal("stored group is corrupt", error))
}

fn check_name(name: &str) -> CognitoResult<()> {
    if name.is_empty()
        || name.chars().count() > 128
        || name.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(CognitoError::invalid_parameter(
            "1 validation error detected: Value at 'groupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\p{L}\\p{M}\\p{S}\\p{N}\\p{P}]+",
        ));
    }
    Ok(())
}

/// Checks and copies the optional members CreateGroup and UpdateGroup share.
fn apply_settings(group: &mut Map<String, Json>, request: &Map<String, Json>) -> CognitoResult<()> {
    if let Some(description) = request.get("Description") {
        if description
            .as_str()
            .is_some_and(|text| text.chars().count() > 2048)
        {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'description' failed to satisfy constraint: Member must have length less than or equal to 2048",
            ));
        }
        group.insert("Description".into(), description.clone());
    }
    if let Some(role) = request.get("RoleArn") {
        let text = role.as_str().unwrap_or_default();
        if text.chars().count() < 20 || !text.starts_with("arn:") {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'roleArn' failed to satisfy constraint: Member must satisfy regular expression pattern: arn:[\\w+=/,.@-]+:[\\w+=/,.@-]+:([\\w+=/,.@-]*)?:[0-9]+:[\\w+=/,.@-]+(:[\\w+=/,.@-]+)?(:[\\w+=/,.@-]+)?",
            ));
        }
        group.insert("RoleArn".into(), role.clone());
    }
    if let Some(precedence) = request.get("Precedence") {
        if precedence.as_i64().is_none_or(|value| value < 0) {
            return Err(CognitoError::invalid_parameter(
                "1 validation error detected: Value at 'precedence' failed to satisfy constraint: Member must have value greater than or equal to 0",
            ));
        }
        group.insert("Precedence".into(), precedence.clone());
    }
    Ok(())
}

fn text<'a>(request: &'a Map<String, Json>, member: &str) -> &'a str {
    request
        .get(member)
        .and_then(Json::as_str)
        .unwrap_or_default()
}

/// Orders group names as tokens list them: by precedence (absent last), then by name.
pub fn by_precedence(groups: &mut [Json]) {
    groups.sort_by(|a, b| {
        let key = |group: &Json| {
            (
                group["Precedence"].as_i64().unwrap_or(i64::MAX),
                group["GroupName"].as_str().unwrap_or_default().to_owned(),
            )
        };
        key(a).cmp(&key(b))
    });
}

impl Directory {
    pub async fn create_group(&self, request: Map<String, Json>) -> CognitoResult<Json> {
        let pool_id = text(&request, "UserPoolId");
        let name = text(&request, "GroupName");
        check_name(name)?;
        self.load_pool(pool_id).await?;
        let now = unix_millis(self.clock.now());
        let mut group = Map::new();
        group.insert("GroupName".into(), json!(name));
        group.insert("UserPoolId".into(), json!(pool_id));
        apply_settings(&mut group, &request)?;
        group.insert("LastModifiedDate".into(), json!(epoch_seconds(now)));
        group.insert("CreationDate".into(), json!(epoch_seconds(now)));
        let group = Json::Object(group);
        let inserted = sqlx::query(
            "INSERT INTO user_groups (user_pool_id, group_name, group_json, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(pool_id)
        .bind(name)
        .bind(group.to_string())
        .bind(now)
        .execute(&self.db)
        .await;
        match inserted {
            Err(error) if is_unique_violation(&error) => Err(CognitoError::new(
                ErrorCode::GroupExistsException,
                format!("A group with the name {name} already exists."),
            )),
            other => other.map(|_| group).map_err(store_error),
        }
    }

    pub async fn get_group(&self, pool_id: &str, name: &str) -> CognitoResult<Json> {
        self.load_pool(pool_id).await?;
        let row = sqlx::query(
            "SELECT group_json FROM user_groups WHERE user_pool_id = $1 AND group_name = $2",
        )
        .bind(pool_id)
        .bind(name)
        .fetch_optional(&self.db)
        .await
        .map_err(store_error)?
        .ok_or_else(group_not_found)?;
        parse_group(row.read::<String>("group_json")?.as_str())
    }

    /// UpdateGroup changes the members it is given and keeps the others.
    pub async fn update_group(&self, request: Map<String, Json>) -> CognitoResult<Json> {
        let pool_id = text(&request, "UserPoolId");
        let name = text(&request, "GroupName");
        let Json::Object(mut group) = self.get_group(pool_id, name).await? else {
            return Err(cognate_common::error::internal(
                "stored group is not an object",
                name,
            ));
        };
        apply_settings(&mut group, &request)?;
        group.insert(
            "LastModifiedDate".into(),
            json!(epoch_seconds(unix_millis(self.clock.now()))),
        );
        let group = Json::Object(group);
        sqlx::query(
            "UPDATE user_groups SET group_json = $1 WHERE user_pool_id = $2 AND group_name = $3",
        )
        .bind(group.to_string())
        .bind(pool_id)
        .bind(name)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(group)
    }

    /// Deletes the group and its memberships in one transaction.
    pub async fn delete_group(&self, pool_id: &str, name: &str) -> CognitoResult<()> {
        self.get_group(pool_id, name).await?;
        let mut transaction = self.db.begin().await.map_err(store_error)?;
        for statement in [
            "DELETE FROM group_members WHERE user_pool_id = $1 AND group_name = $2",
            "DELETE FROM user_groups WHERE user_pool_id = $1 AND group_name = $2",
        ] {
            sqlx::query(statement)
                .bind(pool_id)
                .bind(name)
                .execute(&mut *transaction)
                .await
                .map_err(store_error)?;
        }
        transaction.commit().await.map_err(store_error)
    }

    /// A page of groups in name order; the token is the last name of the page.
    pub async fn list_groups(
        &self,
        pool_id: &str,
        limit: Option<i64>,
        token: Option<&str>,
    ) -> CognitoResult<(Vec<Json>, Option<String>)> {
        self.load_pool(pool_id).await?;
        let limit = page_limit(limit, "limit")?;
        let after = decode_token(token)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT group_name, group_json FROM user_groups WHERE user_pool_id = $1 AND group_name > $2 \
             ORDER BY group_name LIMIT $3",
        )
        .bind(pool_id)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        page_of_groups(&rows, limit)
    }

    pub async fn admin_add_user_to_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> CognitoResult<()> {
        let user = self.find_user(pool_id, username).await?;
        self.get_group(pool_id, group).await?;
        sqlx::query(
            "INSERT INTO group_members (user_pool_id, group_name, sub) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(pool_id)
        .bind(group)
        .bind(&user.sub)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    pub async fn admin_remove_user_from_group(
        &self,
        pool_id: &str,
        username: &str,
        group: &str,
    ) -> CognitoResult<()> {
        let user = self.find_user(pool_id, username).await?;
        self.get_group(pool_id, group).await?;
        sqlx::query(
            "DELETE FROM group_members WHERE user_pool_id = $1 AND group_name = $2 AND sub = $3",
        )
        .bind(pool_id)
        .bind(group)
        .bind(&user.sub)
        .execute(&self.db)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// A page of the user's groups in name order.
    pub async fn admin_list_groups_for_user(
        &self,
        pool_id: &str,
        username: &str,
        limit: Option<i64>,
        token: Option<&str>,
    ) -> CognitoResult<(Vec<Json>, Option<String>)> {
        let user = self.find_user(pool_id, username).await?;
        let limit = page_limit(limit, "limit")?;
        let after = decode_token(token)?.unwrap_or_default();
        let rows = sqlx::query(
            "SELECT g.group_name AS group_name, g.group_json AS group_json FROM group_members m \
             JOIN user_groups g ON g.user_pool_id = m.user_pool_id AND g.group_name = m.group_name \
             WHERE m.user_pool_id = $1 AND m.sub = $2 AND m.group_name > $3 \
             ORDER BY m.group_name LIMIT $4",
        )
        .bind(pool_id)
        .bind(&user.sub)
        .bind(after)
        .bind(limit + 1)
        .fetch_all(&self.db)
        .await
        .map_err(store_error)?;
        page_of_groups(&rows, limit)
    }

    /// A page of the group's users in username order; the token is the last username key.
    pub async fn list_users_in_group(
        &self,
        pool_id: &str,
        group: &str,
        limit: Option<i64>,
        token: Option<&str>,
    ) -> CognitoResult<(Vec<User>, Option<String>)> {
        self.get_group(pool_id, group).await?;
        let limit = page_limit(limit, "limit")?;
        let after = decode_token(token)?.unwrap_or_default();
        let query = format!(
            "SELECT u.username_key AS username_key, {} FROM group_members m \
             JOIN users u ON u.user_pool_id = m.user_pool_id AND u.sub = m.sub \
             WHERE m.user_pool_id = $1 AND m.group_name = $2 AND u.username_key > $3 \
             ORDER BY u.username_key LIMIT $4",
            crate::users::qualified_user_columns("u")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(query))
            .bind(pool_id)
            .bind(group)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.db)
            .await
            .map_err(store_error)?;
        crate::users::page_of_users(&rows, limit)
    }
}

fn page_of_groups(
    rows: &[sqlx::any::AnyRow],
    limit: i64,
) -> CognitoResult<(Vec<Json>, Option<String>)> {
    let page = usize::try_from(limit).unwrap_or(0);
    let groups = rows
        .iter()
        .take(page)
        .map(|row| parse_group(row.read::<String>("group_json")?.as_str()))
        .collect::<CognitoResult<Vec<_>>>()?;
    let next = rows
        .get(page.saturating_sub(1))
        .filter(|_| rows.len() > page)
        .map(|row| Ok::<_, CognitoError>(encode_token(row.read::<String>("group_name")?.as_str())))
        .transpose()?;
    Ok((groups, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_order_by_precedence_then_name_with_unranked_last() {
        let mut groups = vec![
            json!({"GroupName": "zeta"}),
            json!({"GroupName": "beta", "Precedence": 5}),
            json!({"GroupName": "alpha", "Precedence": 5}),
            json!({"GroupName": "admins", "Precedence": 0}),
        ];
        by_precedence(&mut groups);
        let names: Vec<&str> = groups
            .iter()
            .filter_map(|group| group["GroupName"].as_str())
            .collect();
        assert_eq!(names, ["admins", "alpha", "beta", "zeta"]);
    }
}
