#!/usr/bin/env bash
# End-to-end check with the unmodified pycognito (Python): SRP sign-in through its AWSSRP, with
# and without a client secret, token verification against cognate's JWKS by pycognito itself,
# refresh, GetUser and a wrong password, against a real `cognate` process; pools and users are
# made with the AWS CLI.
set -euo pipefail
cd "$(dirname "$0")/../.."

# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
start_cognate

$aws cognito-idp create-user-pool --pool-name py >"$work/pool.json"
pool_id=$(json_field "$work/pool.json" 'doc["UserPool"]["Id"]')
$aws cognito-idp admin-create-user --user-pool-id "$pool_id" --username jane \
  --user-attributes Name=email,Value=jane@example.com --message-action SUPPRESS >/dev/null
$aws cognito-idp admin-set-user-password --user-pool-id "$pool_id" --username jane \
  --password 'Correct-horse-1' --permanent

for secret in without with; do
  if [[ $secret == with ]]; then
    $aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name py \
      --generate-secret >"$work/client.json"
  else
    $aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name py >"$work/client.json"
  fi
  client_id=$(json_field "$work/client.json" 'doc["UserPoolClient"]["ClientId"]')
  client_secret=$(json_field "$work/client.json" 'doc["UserPoolClient"].get("ClientSecret", "")')
  python3 tests/e2e/py/pycognito_check.py "$endpoint" "$pool_id" "$client_id" jane 'Correct-horse-1' \
    ${client_secret:+"$client_secret"} >"$work/py.json"
  expected='doc == {"id_token_username": "jane", "access_token_client": "'"$client_id"'", "refreshed": True, "email": "jane@example.com", "wrong_password": "NotAuthorizedException"}'
  if [[ $(json_field "$work/py.json" "$expected") != True ]]; then
    echo "FAIL: pycognito $secret a client secret"; cat "$work/py.json"; exit 1
  fi
done
echo "pycognito e2e: ok"
