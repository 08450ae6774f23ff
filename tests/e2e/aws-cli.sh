#!/usr/bin/env bash
# End-to-end check with the real AWS CLI against a real `cognate` process on the embedded
# default (SQLite, no NATS): the skeleton issue's exact create-user-pool command, its
# --username-attributes variant, DescribeUserPool, a pool's domains, resource servers and client
# secret rotation as infrastructure code sets them up, a user import job with its CSV file
# uploaded by curl to the pre-signed URL, and a clean exit on SIGTERM.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
start_cognate
grep -q "cognate listening on $endpoint" "$work/out.log" || { echo "cognate did not announce $endpoint"; cat "$work/out.log" "$work/err.log"; exit 1; }
grep -q "any well-formed SigV4 signature is accepted" "$work/out.log" || { echo "no local-development notice"; exit 1; }

lambda_config='PreSignUp=arn:aws:lambda:us-east-1:123456789012:function:pre-signup,CustomMessage=arn:aws:lambda:us-east-1:123456789012:function:custom-message,PostConfirmation=arn:aws:lambda:us-east-1:123456789012:function:post-confirmation,PreAuthentication=arn:aws:lambda:us-east-1:123456789012:function:pre-auth,PostAuthentication=arn:aws:lambda:us-east-1:123456789012:function:post-auth,DefineAuthChallenge=arn:aws:lambda:us-east-1:123456789012:function:define,CreateAuthChallenge=arn:aws:lambda:us-east-1:123456789012:function:create,VerifyAuthChallengeResponse=arn:aws:lambda:us-east-1:123456789012:function:verify,PreTokenGeneration=arn:aws:lambda:us-east-1:123456789012:function:pre-token,UserMigration=arn:aws:lambda:us-east-1:123456789012:function:migrate,CustomSMSSender={LambdaVersion=V1_0,LambdaArn=arn:aws:lambda:us-east-1:123456789012:function:sms},CustomEmailSender={LambdaVersion=V1_0,LambdaArn=arn:aws:lambda:us-east-1:123456789012:function:email},KMSKeyID=arn:aws:kms:us-east-1:123456789012:key/example'

create() {
  $aws cognito-idp create-user-pool --pool-name Users \
    --policies 'PasswordPolicy={MinimumLength=8,RequireUppercase=true,RequireLowercase=true,RequireNumbers=true,RequireSymbols=true,TemporaryPasswordValidityDays=7}' \
    --deletion-protection ACTIVE \
    --lambda-config "$lambda_config" \
    --auto-verified-attributes email \
    --mfa-configuration OPTIONAL \
    --account-recovery-setting 'RecoveryMechanisms=[{Priority=1,Name=verified_email}]' \
    "$@"
}

check() { # check <json file> <python expression over `pool`> <description>
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
pool = json.load(open(sys.argv[1]))["UserPool"]
if not eval(sys.argv[2]):
    print("FAIL:", sys.argv[3], "\n", json.dumps(pool, indent=1)[:3000])
    sys.exit(1)
PY
}

for variant in alias username; do
  if [[ $variant == alias ]]; then
    create --alias-attributes email preferred_username >"$work/created.json"
  else
    create --username-attributes email >"$work/created.json"
  fi
  pool_id=$(json_field "$work/created.json" 'doc["UserPool"]["Id"]')
  $aws cognito-idp describe-user-pool --user-pool-id "$pool_id" >"$work/described.json"
  for file in "$work/created.json" "$work/described.json"; do
    check "$file" 'pool["Name"] == "Users" and pool["DeletionProtection"] == "ACTIVE" and pool["MfaConfiguration"] == "OPTIONAL"' "$variant: name, protection, MFA"
    check "$file" 'pool["Policies"]["PasswordPolicy"] == {"MinimumLength": 8, "RequireUppercase": True, "RequireLowercase": True, "RequireNumbers": True, "RequireSymbols": True, "TemporaryPasswordValidityDays": 7}' "$variant: password policy"
    check "$file" 'pool["LambdaConfig"]["PreAuthentication"].endswith(":function:pre-auth") and pool["LambdaConfig"]["CustomSMSSender"] == {"LambdaVersion": "V1_0", "LambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:sms"} and pool["LambdaConfig"]["KMSKeyID"] == "arn:aws:kms:us-east-1:123456789012:key/example" and len(pool["LambdaConfig"]) == 13' "$variant: lambda config"
    check "$file" 'pool["AutoVerifiedAttributes"] == ["email"] and pool["AccountRecoverySetting"] == {"RecoveryMechanisms": [{"Priority": 1, "Name": "verified_email"}]}' "$variant: verification and recovery"
    check "$file" 'pool["Arn"].endswith(":userpool/" + pool["Id"]) and isinstance(pool["CreationDate"], (int, float))' "$variant: arn and dates"
  done
  if [[ $variant == alias ]]; then
    check "$work/described.json" 'pool["AliasAttributes"] == ["email", "preferred_username"] and "UsernameAttributes" not in pool' "alias attributes"
  else
    check "$work/described.json" 'pool["UsernameAttributes"] == ["email"] and "AliasAttributes" not in pool' "username attributes"
  fi
  if $aws cognito-idp delete-user-pool --user-pool-id "$pool_id" 2>"$work/delete.err"; then
    echo "FAIL: delete-user-pool succeeded despite deletion protection"; exit 1
  fi
  grep -q InvalidParameterException "$work/delete.err" || { cat "$work/delete.err"; exit 1; }
done

# Domains, a resource server with a custom scope, a client allowed that scope, and a second
# client secret, as infrastructure code sets them up.
$aws cognito-idp create-user-pool --pool-name Config >"$work/config.json"
pool_id=$(json_field "$work/config.json" 'doc["UserPool"]["Id"]')
$aws cognito-idp create-user-pool-domain --user-pool-id "$pool_id" --domain config-login >/dev/null
$aws cognito-idp create-user-pool-domain --user-pool-id "$pool_id" --domain auth.example.com \
  --custom-domain-config CertificateArn=arn:aws:acm:us-east-1:123456789012:certificate/example >"$work/custom.json"
[[ -n $(json_field "$work/custom.json" 'doc["CloudFrontDomain"]') ]] || { echo "FAIL: no CloudFrontDomain"; exit 1; }
$aws cognito-idp describe-user-pool --user-pool-id "$pool_id" >"$work/described.json"
check "$work/described.json" 'pool["Domain"] == "config-login" and pool["CustomDomain"] == "auth.example.com"' "domains in describe-user-pool"
$aws cognito-idp describe-user-pool-domain --domain auth.example.com >"$work/domain.json"
[[ $(json_field "$work/domain.json" 'doc["DomainDescription"]["CustomDomainConfig"]["CertificateArn"]') == *certificate/example ]] \
  || { echo "FAIL: describe-user-pool-domain"; cat "$work/domain.json"; exit 1; }
$aws cognito-idp create-resource-server --user-pool-id "$pool_id" --identifier orders-api --name Orders \
  --scopes ScopeName=read,ScopeDescription=Read >/dev/null
$aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name machine --generate-secret \
  --allowed-o-auth-flows-user-pool-client --allowed-o-auth-flows client_credentials \
  --allowed-o-auth-scopes orders-api/read >"$work/client.json"
client_id=$(json_field "$work/client.json" 'doc["UserPoolClient"]["ClientId"]')
if $aws cognito-idp update-user-pool-client --user-pool-id "$pool_id" --client-id "$client_id" \
  --allowed-o-auth-scopes orders-api/write 2>"$work/scope.err"; then
  echo "FAIL: a scope that does not exist was allowed"; exit 1
fi
grep -q ScopeDoesNotExistException "$work/scope.err" || { cat "$work/scope.err"; exit 1; }
$aws cognito-idp add-user-pool-client-secret --user-pool-id "$pool_id" --client-id "$client_id" >"$work/secret.json"
[[ -n $(json_field "$work/secret.json" 'doc["ClientSecretDescriptor"]["ClientSecretValue"]') ]] || { echo "FAIL: no new secret"; exit 1; }
$aws cognito-idp list-user-pool-client-secrets --user-pool-id "$pool_id" --client-id "$client_id" >"$work/secrets.json"
[[ $(json_field "$work/secrets.json" 'len(doc["ClientSecrets"])') == 2 ]] || { echo "FAIL: two secrets expected"; cat "$work/secrets.json"; exit 1; }

# A user import job as Cognito's guide runs it: the header from get-csv-header, the file uploaded
# with curl to the job's pre-signed URL (Cognate's own), the job started and polled until it
# succeeds, then the imported user, who must reset their password.
$aws cognito-idp create-user-pool --pool-name Imports --auto-verified-attributes email >"$work/imports.json"
pool_id=$(json_field "$work/imports.json" 'doc["UserPool"]["Id"]')
$aws cognito-idp get-csv-header --user-pool-id "$pool_id" >"$work/header.json"
python3 - "$work/header.json" "$work/users.csv" <<'PY'
import csv, json, sys
header = json.load(open(sys.argv[1]))["CSVHeader"]
rows = [
    {"cognito:username": "imported", "cognito:mfa_enabled": "false", "email": "imported@example.com",
     "email_verified": "true", "name": "Imported, User"},
    {"cognito:username": "unverified", "cognito:mfa_enabled": "false", "email": "unverified@example.com",
     "email_verified": "false"},
]
with open(sys.argv[2], "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
PY
$aws cognito-idp create-user-import-job --user-pool-id "$pool_id" --job-name first-import \
  --cloud-watch-logs-role-arn arn:aws:iam::123456789012:role/CognitoImport >"$work/job.json"
job_id=$(json_field "$work/job.json" 'doc["UserImportJob"]["JobId"]')
url=$(json_field "$work/job.json" 'doc["UserImportJob"]["PreSignedUrl"]')
[[ $url == "$endpoint/"* ]] || { echo "FAIL: the pre-signed URL is not Cognate's: $url"; exit 1; }
[[ $(curl -s -o /dev/null -w '%{http_code}' -X PUT --upload-file "$work/users.csv" "${url/token=/token=x}") == 403 ]] \
  || { echo "FAIL: an upload with a wrong token was taken"; exit 1; }
truncate -s 101M "$work/huge.csv"
[[ $(curl -s -o /dev/null -w '%{http_code}' -X PUT --upload-file "$work/huge.csv" "$url") == 413 ]] \
  || { echo "FAIL: a file over 100 MB was not refused"; exit 1; }
rm "$work/huge.csv"
curl -fsS -X PUT --upload-file "$work/users.csv" "$url" || { echo "FAIL: upload to the pre-signed URL"; exit 1; }
$aws cognito-idp start-user-import-job --user-pool-id "$pool_id" --job-id "$job_id" >/dev/null
for _ in $(seq 1 100); do
  $aws cognito-idp describe-user-import-job --user-pool-id "$pool_id" --job-id "$job_id" >"$work/job.json"
  status=$(json_field "$work/job.json" 'doc["UserImportJob"]["Status"]')
  [[ $status == Pending || $status == InProgress ]] || break
  sleep 0.1
done
[[ $(json_field "$work/job.json" '(doc["UserImportJob"]["Status"], doc["UserImportJob"]["ImportedUsers"], doc["UserImportJob"]["FailedUsers"])') == "('Succeeded', 1, 1)" ]] \
  || { echo "FAIL: the import job"; cat "$work/job.json"; exit 1; }
$aws cognito-idp list-user-import-jobs --user-pool-id "$pool_id" --max-results 10 >"$work/jobs.json"
[[ $(json_field "$work/jobs.json" '[job["JobId"] for job in doc["UserImportJobs"]]') == "['$job_id']" ]] \
  || { echo "FAIL: list-user-import-jobs"; cat "$work/jobs.json"; exit 1; }
$aws cognito-idp admin-get-user --user-pool-id "$pool_id" --username imported >"$work/user.json"
[[ $(json_field "$work/user.json" '(doc["UserStatus"], {a["Name"]: a["Value"] for a in doc["UserAttributes"]}["name"])') == "('RESET_REQUIRED', 'Imported, User')" ]] \
  || { echo "FAIL: the imported user"; cat "$work/user.json"; exit 1; }

"$binary" healthcheck --listen "127.0.0.1:$port" || { echo "FAIL: cognate healthcheck"; exit 1; }
if "$binary" healthcheck --listen 127.0.0.1:1 2>/dev/null; then echo "FAIL: healthcheck of nothing passed"; exit 1; fi

kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=""
[[ $status -eq 0 ]] || { echo "FAIL: cognate exited $status on SIGTERM"; cat "$work/err.log"; exit 1; }
# `cognate migrate` on a fresh data directory, and a subset that lacks its peers is refused.
"$binary" migrate --data-dir "$work/migrated" || { echo "FAIL: cognate migrate"; exit 1; }
[[ -f "$work/migrated/directory.sqlite" ]] || { echo "FAIL: migrate created no directory store"; exit 1; }
if "$binary" run --services auth --listen 127.0.0.1:1 2>"$work/subset.err"; then echo "FAIL: a subset without peers started"; exit 1; fi
grep -q "is needed by" "$work/subset.err" || { cat "$work/subset.err"; exit 1; }
echo "aws-cli e2e: ok"
