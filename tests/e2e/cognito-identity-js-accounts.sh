#!/usr/bin/env bash
# End-to-end check of the self-service account flows with the unmodified
# amazon-cognito-identity-js (Node) against a real `cognate` process that sends email to a real
# SMTP server (aiosmtpd, keeping a Maildir) and records messages in its dev outbox: signUp,
# confirmRegistration, changePassword, forgotPassword, confirmPassword (tests/e2e/js/account.mjs).
set -euo pipefail
cd "$(dirname "$0")/../.."

npm ci --prefix tests/e2e/js --no-audit --no-fund --silent
# shellcheck source=tests/e2e/lib.sh
source tests/e2e/lib.sh

smtp_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
python3 -m aiosmtpd -n -l "127.0.0.1:$smtp_port" -c aiosmtpd.handlers.Mailbox "$work/mail" \
  >"$work/smtp.log" 2>&1 &
smtp_pid=$!
trap 'kill "$smtp_pid" 2>/dev/null || true; if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
  (echo >"/dev/tcp/127.0.0.1/$smtp_port") 2>/dev/null && break
  sleep 0.1
done

COGNATE_SMTP_URL="smtp://127.0.0.1:$smtp_port" start_cognate

$aws cognito-idp create-user-pool --pool-name js-accounts --auto-verified-attributes email \
  --alias-attributes email >"$work/pool.json"
pool_id=$(json_field "$work/pool.json" 'doc["UserPool"]["Id"]')
$aws cognito-idp create-user-pool-client --user-pool-id "$pool_id" --client-name web >"$work/client.json"
client_id=$(json_field "$work/client.json" 'doc["UserPoolClient"]["ClientId"]')

node tests/e2e/js/account.mjs "$endpoint" "$pool_id" "$client_id" "$work/mail" >"$work/account.json"
expect() { # expect <python expression over `doc`> <description>
  if [[ $(json_field "$work/account.json" "$1") != True ]]; then
    echo "FAIL: $2"; cat "$work/account.json"; exit 1
  fi
}
expect 'doc["signUp"]["userConfirmed"] is False and doc["signUp"]["delivery"]["Destination"] == "j***@e***.com"' "signUp answers with the masked email"
expect 'doc["wrongCode"]["code"] == "CodeMismatchException"' "a wrong confirmation code is refused"
expect 'doc["confirmRegistration"] == "SUCCESS"' "the emailed code confirms the sign-up"
expect 'doc["changePassword"] == "SUCCESS"' "changePassword"
expect 'doc["oldPasswordAfterChange"]["code"] == "NotAuthorizedException"' "the old password no longer signs in"
expect 'doc["forgotPassword"]["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"' "forgotPassword sends a code by email"
expect 'doc["confirmPassword"] == "SUCCESS"' "confirmPassword with the code from the dev outbox"
expect 'doc["finalSignIn"] == "jane@example.com"' "SRP sign-in with the reset password"
echo "amazon-cognito-identity-js account flows e2e: ok"
