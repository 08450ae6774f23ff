// CUSTOM_AUTH with SRP first through the unmodified amazon-cognito-identity-js: the library sends
// SRP_A (CHALLENGE_NAME SRP_A), proves the password at PASSWORD_VERIFIER, then answers the custom
// challenge with <answer>.
// Usage: node custom-auth.mjs <endpoint> <poolId> <clientId> <username> <password> <answer>
// Prints one JSON line: {"result": "success", "question": ..., "tokenUse": ...} or a failure.
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from 'amazon-cognito-identity-js';

const [endpoint, poolId, clientId, username, password, answer] = process.argv.slice(2);
const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint });
const user = new CognitoUser({ Username: username, Pool: pool });
user.setAuthenticationFlowType('CUSTOM_AUTH');

let question = null;
const callbacks = {
  onSuccess(session) {
    console.log(JSON.stringify({
      result: 'success',
      question,
      tokenUse: session.getAccessToken().decodePayload().token_use,
    }));
  },
  onFailure(error) {
    console.log(JSON.stringify({ result: 'failure', question, code: error.code, message: error.message }));
  },
  customChallenge(parameters) {
    question = parameters.question;
    user.sendCustomChallengeAnswer(answer, callbacks);
  },
};

user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), callbacks);
