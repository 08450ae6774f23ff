//! Where a `LambdaConfig` value sends an event: a NATS subject or a webhook URL.

use std::fmt;

/// A resolved trigger target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Core NATS request/reply on this subject.
    Nats(String),
    /// An HTTP POST of the event to this URL.
    Webhook(reqwest::Url),
}

/// Why a `LambdaConfig` value names no target Cognate can deliver to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error(
        "the Lambda ARN is malformed (expected arn:aws:lambda:<region>:<account>:function:<name>)"
    )]
    BadLambdaArn,
    #[error("the NATS subject after `nats:` is empty, has blanks or wildcards")]
    BadSubject,
    #[error("the webhook URL is malformed")]
    BadUrl,
    #[error("the trigger target is not a Lambda ARN, a nats:<subject> or an http(s) URL")]
    Unknown,
}

impl Target {
    /// Resolves a `LambdaConfig` value. Lambda ARNs map to `<subject_prefix>.<function name>`;
    /// the alias or version qualifier is dropped, as one handler serves a function.
    pub fn resolve(target: &str, subject_prefix: &str) -> Result<Self, TargetError> {
        if target.starts_with("arn:") {
            let function_name = lambda_function_name(target).ok_or(TargetError::BadLambdaArn)?;
            return Ok(Self::Nats(format!("{subject_prefix}.{function_name}")));
        }
        if let Some(subject) = target.strip_prefix("nats:") {
            if !is_publish_subject(subject) {
                return Err(TargetError::BadSubject);
            }
            return Ok(Self::Nats(subject.to_owned()));
        }
        if has_prefix_ignoring_case(target, "http://")
            || has_prefix_ignoring_case(target, "https://")
        {
            let url = reqwest::Url::parse(target).map_err(|_| TargetError::BadUrl)?;
            if url.host_str().is_none_or(str::is_empty) {
                return Err(TargetError::BadUrl);
            }
            return Ok(Self::Webhook(url));
        }
        Err(TargetError::Unknown)
    }

    /// The target as it may appear in logs: a webhook URL loses its credentials and query.
    pub fn redacted(&self) -> RedactedTarget<'_> {
        RedactedTarget(self)
    }
}

/// Displays a target without the secrets a webhook URL may carry.
pub struct RedactedTarget<'a>(&'a Target);

impl fmt::Display for RedactedTarget<'_> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Target::Nats(subject) => write!(formatter, "nats:{subject}"),
            Target::Webhook(url) => {
                write!(formatter, "{}://", url.scheme())?;
                if let Some(host) = url.host_str() {
                    formatter.write_str(host)?;
                }
                if let Some(port) = url.port() {
                    write!(formatter, ":{port}")?;
                }
                formatter.write_str(url.path())
            }
        }
    }
}

fn has_prefix_ignoring_case(text: &str, prefix: &str) -> bool {
    text.get(..prefix.len())
        .is_some_and(|start| start.eq_ignore_ascii_case(prefix))
}

/// `arn:<partition>:lambda:<region>:<account>:function:<name>[:<alias-or-version>]`.
fn lambda_function_name(arn: &str) -> Option<&str> {
    let parts: Vec<&str> = arn.split(':').collect();
    let (partition, service, resource_type, name) = match parts.as_slice() {
        [
            "arn",
            partition,
            service,
            _region,
            _account,
            resource_type,
            name,
        ] => (*partition, *service, *resource_type, *name),
        [
            "arn",
            partition,
            service,
            _region,
            _account,
            resource_type,
            name,
            qualifier,
        ] => {
            if !is_lambda_qualifier(qualifier) {
                return None;
            }
            (*partition, *service, *resource_type, *name)
        }
        _ => return None,
    };
    let valid = partition.starts_with("aws")
        && service == "lambda"
        && resource_type == "function"
        && is_lambda_function_name(name);
    valid.then_some(name)
}

/// Lambda function names: letters, digits, `-` and `_`, at most 64 — all safe in a subject token.
fn is_lambda_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// A version (`$LATEST`, `3`) or an alias name.
fn is_lambda_qualifier(qualifier: &str) -> bool {
    (1..=128).contains(&qualifier.len())
        && qualifier
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'$'))
}

/// A subject one can publish to: dot-separated non-empty tokens, no blanks, no wildcards.
fn is_publish_subject(subject: &str) -> bool {
    !subject.is_empty()
        && subject.split('.').all(|token| {
            !token.is_empty()
                && token.chars().all(|character| {
                    character.is_ascii_graphic() && !matches!(character, '*' | '>')
                })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PREFIX: &str = "cognate.trigger";

    fn resolve(target: &str) -> Result<Target, TargetError> {
        Target::resolve(target, PREFIX)
    }

    #[test]
    fn a_lambda_arn_maps_to_a_subject_named_after_the_function() {
        assert_eq!(
            resolve("arn:aws:lambda:us-east-1:123456789012:function:pre-auth_v2"),
            Ok(Target::Nats("cognate.trigger.pre-auth_v2".to_owned()))
        );
        assert_eq!(
            resolve("arn:aws:lambda:eu-west-1:123456789012:function:check:live"),
            Ok(Target::Nats("cognate.trigger.check".to_owned()))
        );
        assert_eq!(
            resolve("arn:aws-cn:lambda:cn-north-1:123456789012:function:check:$LATEST"),
            Ok(Target::Nats("cognate.trigger.check".to_owned()))
        );
        assert_eq!(
            Target::resolve("arn:aws:lambda:us-east-1:1:function:f", "hooks"),
            Ok(Target::Nats("hooks.f".to_owned()))
        );
    }

    #[test]
    fn a_malformed_lambda_arn_is_refused() {
        for arn in [
            "arn:aws:lambda:us-east-1:123456789012:function:",
            "arn:aws:lambda:us-east-1:123456789012:function:has.dot",
            "arn:aws:lambda:us-east-1:123456789012:layer:name",
            "arn:aws:sns:us-east-1:123456789012:function:name",
            "arn:aws:lambda:us-east-1:123456789012:function:name:alias:extra",
            "arn:aws:lambda:us-east-1:123456789012:function:name:",
            "arn:aws:lambda",
        ] {
            assert_eq!(resolve(arn), Err(TargetError::BadLambdaArn), "{arn}");
        }
    }

    #[test]
    fn a_nats_target_names_its_subject() {
        assert_eq!(
            resolve("nats:hooks.pre-auth"),
            Ok(Target::Nats("hooks.pre-auth".to_owned()))
        );
        for subject in [
            "nats:",
            "nats:a..b",
            "nats:a b",
            "nats:a.*",
            "nats:>",
            "nats:.a",
        ] {
            assert_eq!(resolve(subject), Err(TargetError::BadSubject), "{subject}");
        }
    }

    #[test]
    fn an_http_url_is_a_webhook() {
        let Ok(Target::Webhook(url)) = resolve("https://hooks.example.com/cognito?key=1") else {
            panic!("not a webhook");
        };
        assert_eq!(url.as_str(), "https://hooks.example.com/cognito?key=1");
        assert!(matches!(
            resolve("HTTP://127.0.0.1:8080/"),
            Ok(Target::Webhook(_))
        ));
        assert_eq!(resolve("http://"), Err(TargetError::BadUrl));
        assert_eq!(resolve("https://exa mple.com/"), Err(TargetError::BadUrl));
    }

    #[test]
    fn anything_else_is_not_a_target() {
        for target in ["", "my-function", "ftp://example.com/", "sqs:queue"] {
            assert_eq!(resolve(target), Err(TargetError::Unknown), "{target}");
        }
    }

    #[test]
    fn a_redacted_webhook_keeps_no_credentials_or_query() {
        let target = resolve("https://user:secret@hooks.example.com:8443/cognito?token=abc")
            .expect("a webhook");
        assert_eq!(
            target.redacted().to_string(),
            "https://hooks.example.com:8443/cognito"
        );
        let target = resolve("nats:hooks.x").expect("a subject");
        assert_eq!(target.redacted().to_string(), "nats:hooks.x");
    }
}
