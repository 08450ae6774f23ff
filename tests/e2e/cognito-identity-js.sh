#!/usr/bin/env bash
# End-to-end check with the unmodified amazon-cognito-identity-js (Node): USER_SRP_AUTH sign-in,
# a wrong password, an email-as-username pool, the NEW_PASSWORD_REQUIRED challenge, and device
# tracking (ConfirmDevice, a remembered device, DEVICE_SRP_AUTH) against a real `cognate` process;
# pools and users are made with the AWS CLI. The tokens are verified with aws-jwt-verify's generic
# verifier against cognate's JWKS, RS256 and, for a pool tagged to choose it, ES256. CUSTOM_AUTH
# with SRP first runs through the library against triggers served by a webhook.
set -euo pipefail
cd "$(dirname "$0")/../.."

npm ci --prefix tests/e2e/js --no-audit --no-fund --silent
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh
start_cognate

sign_in() { node tests/e2e/js/sign-in.mjs "$endpoint" "$@" >"$work/sign-in.json"; }
expect() { # expect <python expression over `doc`> <description>
  if [[ $(json_field "$work/sign-in.json" "$1") != True ]]; then
    echo "FAIL: $2"; cat "$work/sign-in.json"; exit 1
  fi
}

for variant in username email es256; do
  if [[ $variant == email ]]; then
    $aws cognito-idp create-user-pool --pool-name js --username-attributes email >"$work/pool.json"
    name=jane@example.com
  elif [[ $variant == es256 ]]; then
    $aws cognito-idp create-user-pool --pool-name js-ec \
      --user-pool-tags cognate:signing-algorithm=ES256 >"$work/pool.json"
    name=jane
  else
    $aws cognito-idp create-user-pool --pool-name js >"$work/pool.json"
    name=jane
  fi
  pool_id=$(json_field "$work/pool.json" 'doc["UserPool"]["Id"]')
  $aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name web >"$work/client.json"
  client_id=$(json_field "$work/client.json" 'doc["UserPoolClient"]["ClientId"]')
  $aws cognito-idp admin-create-user --user-pool-id "$pool_id" --username "$name" \
    --temporary-password 'Temporary-pass-1' --message-action SUPPRESS >/dev/null

  sign_in "$pool_id" "$client_id" "$name" 'Temporary-pass-1'
  expect 'doc["result"] == "newPasswordRequired"' "$variant: a temporary password asks for a new one"
  sign_in "$pool_id" "$client_id" "$name" 'Temporary-pass-1' 'Brand-new-pass-2'
  expect 'doc["result"] == "success" and doc["hasRefreshToken"]' "$variant: the new password is set and tokens issued"
  sign_in "$pool_id" "$client_id" "$name" 'Brand-new-pass-2'
  expect 'doc["result"] == "success"' "$variant: SRP sign-in with the new password"
  expect 'doc["idToken"]["iss"] == "'"$endpoint/$pool_id"'" and doc["idToken"]["aud"] == "'"$client_id"'"' "$variant: issuer and audience"
  expect 'doc["accessToken"]["token_use"] == "access" and doc["idToken"]["token_use"] == "id"' "$variant: token use"
  expect 'doc["verified"] and doc["forgeryRejected"]' "$variant: aws-jwt-verify accepts the tokens and rejects a forged signature"
  algorithm=$([[ $variant == es256 ]] && echo ES256 || echo RS256)
  expect 'doc["alg"] == "'"$algorithm"'"' "$variant: tokens signed with $algorithm"
  sign_in "$pool_id" "$client_id" "$name" 'Wrong-pass-3'
  expect 'doc["result"] == "failure" and doc["code"] == "NotAuthorizedException" and doc["message"] == "Incorrect username or password."' "$variant: wrong password"
done

# Device tracking: the library confirms the device after the first sign-in, and the second
# sign-in goes through device SRP with the device it remembered.
$aws cognito-idp create-user-pool --pool-name js-devices \
  --device-configuration ChallengeRequiredOnNewDevice=true,DeviceOnlyRememberedOnUserPrompt=true >"$work/pool.json"
pool_id=$(json_field "$work/pool.json" 'doc["UserPool"]["Id"]')
$aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name web >"$work/client.json"
client_id=$(json_field "$work/client.json" 'doc["UserPoolClient"]["ClientId"]')
$aws cognito-idp admin-create-user --user-pool-id "$pool_id" --username jane --message-action SUPPRESS >/dev/null
$aws cognito-idp admin-set-user-password --user-pool-id "$pool_id" --username jane \
  --password 'Device-pass-1' --permanent
node tests/e2e/js/devices.mjs "$endpoint" "$pool_id" "$client_id" jane 'Device-pass-1' >"$work/sign-in.json"
expect '"error" not in doc' "devices: every step succeeds"
expect 'doc["first"]["sent"][-1] == "ConfirmDevice" and doc["first"]["userConfirmationNecessary"] is True' "devices: the new device is confirmed and the user is asked"
expect 'doc["remembered"] == "SUCCESS" and doc["devices"][0]["dev:device_remembered_status"] == "remembered"' "devices: the device is remembered"
expect 'doc["second"]["sent"][-2:] == ["RespondToAuthChallenge:DEVICE_SRP_AUTH", "RespondToAuthChallenge:DEVICE_PASSWORD_VERIFIER"]' "devices: the second sign-in goes through device SRP"
expect 'doc["second"]["tokenUse"] == "access" and doc["forgotten"] == "SUCCESS"' "devices: tokens, and the device is forgotten"
expect '"RespondToAuthChallenge:DEVICE_SRP_AUTH" not in doc["third"]["sent"] and doc["third"]["sent"][-1] == "ConfirmDevice"' "devices: after forgetting, a new device"

# CUSTOM_AUTH with SRP first: the triggers are a webhook answering as a Lambda would.
trigger_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
node tests/e2e/js/custom-triggers.mjs "$trigger_port" "$work/define.log" &
trigger_pid=$!
trap 'kill "$trigger_pid" 2>/dev/null || true; if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$trigger_port" 2>/dev/null && break
  sleep 0.1
done
hook="http://127.0.0.1:$trigger_port/"
$aws cognito-idp create-user-pool --pool-name js-custom \
  --lambda-config "DefineAuthChallenge=$hook,CreateAuthChallenge=$hook,VerifyAuthChallengeResponse=$hook" >"$work/pool.json"
pool_id=$(json_field "$work/pool.json" 'doc["UserPool"]["Id"]')
$aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name web \
  --explicit-auth-flows ALLOW_CUSTOM_AUTH ALLOW_REFRESH_TOKEN_AUTH >"$work/client.json"
client_id=$(json_field "$work/client.json" 'doc["UserPoolClient"]["ClientId"]')
$aws cognito-idp admin-create-user --user-pool-id "$pool_id" --username quiz --message-action SUPPRESS >/dev/null
$aws cognito-idp admin-set-user-password --user-pool-id "$pool_id" --username quiz \
  --password 'Custom-pass-1' --permanent
node tests/e2e/js/custom-auth.mjs "$endpoint" "$pool_id" "$client_id" quiz 'Custom-pass-1' 4 >"$work/sign-in.json"
expect 'doc["result"] == "success" and doc["question"] == "2 + 2" and doc["tokenUse"] == "access"' "custom auth: SRP, then the question, then tokens"
defined=$(tr '\n' ' ' <"$work/define.log")
if [[ $defined != '["SRP_A"] ["SRP_A","PASSWORD_VERIFIER"] ["SRP_A","PASSWORD_VERIFIER","CUSTOM_CHALLENGE"] ' ]]; then
  echo "FAIL: custom auth: DefineAuthChallenge saw $defined"; exit 1
fi
node tests/e2e/js/custom-auth.mjs "$endpoint" "$pool_id" "$client_id" quiz 'Wrong-pass-2' 4 >"$work/sign-in.json"
expect 'doc["result"] == "failure" and doc["code"] == "NotAuthorizedException" and doc["question"] is None' "custom auth: a wrong password fails at the proof"
node tests/e2e/js/custom-auth.mjs "$endpoint" "$pool_id" "$client_id" quiz 'Custom-pass-1' 5 >"$work/sign-in.json"
expect 'doc["result"] == "failure" and doc["code"] == "NotAuthorizedException" and doc["question"] == "2 + 2"' "custom auth: a wrong answer fails"
echo "amazon-cognito-identity-js e2e: ok"
