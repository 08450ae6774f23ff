// Signs in with the unmodified amazon-cognito-identity-js (USER_SRP_AUTH, and
// NEW_PASSWORD_REQUIRED when the password is temporary) against a running cognate.
// Usage: node sign-in.mjs <endpoint> <poolId> <clientId> <username> <password> [newPassword]
// Prints one JSON line: {"result": "success", "idToken": {...claims}} or {"result": "failure", ...}.
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from 'amazon-cognito-identity-js';

const [endpoint, poolId, clientId, username, password, newPassword] = process.argv.slice(2);
const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint });
const user = new CognitoUser({ Username: username, Pool: pool });

const callbacks = {
  onSuccess(session) {
    console.log(JSON.stringify({
      result: 'success',
      idToken: session.getIdToken().decodePayload(),
      accessToken: session.getAccessToken().decodePayload(),
      hasRefreshToken: Boolean(session.getRefreshToken().getToken()),
    }));
  },
  onFailure(error) {
    console.log(JSON.stringify({ result: 'failure', code: error.code, message: error.message }));
  },
  newPasswordRequired() {
    if (!newPassword) {
      console.log(JSON.stringify({ result: 'newPasswordRequired' }));
      return;
    }
    user.completeNewPasswordChallenge(newPassword, {}, callbacks);
  },
};

user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), callbacks);
