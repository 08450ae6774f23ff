// Signs in with the unmodified amazon-cognito-identity-js (USER_SRP_AUTH, and
// NEW_PASSWORD_REQUIRED when the password is temporary) against a running cognate.
// Usage: node sign-in.mjs <endpoint> <poolId> <clientId> <username> <password> [newPassword]
// Prints one JSON line: {"result": "success", "idToken": {...claims}} or {"result": "failure", ...}.
// On success the tokens are also checked with aws-jwt-verify's generic verifier (RS256, or ES256
// for pools that chose it; "alg") against cognate's JWKS ("verified"), and a token with a forged
// signature must fail ("forgeryRejected").
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from 'amazon-cognito-identity-js';
import { JwtRsaVerifier } from 'aws-jwt-verify';

const [endpoint, poolId, clientId, username, password, newPassword] = process.argv.slice(2);
const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint });
const user = new CognitoUser({ Username: username, Pool: pool });

// aws-jwt-verify fetches JWKS over HTTPS only, so the JWKS is fetched here and handed to it;
// the signature, issuer, audience (client_id for access tokens) and expiry checks are its own.
async function verifyWithAwsJwtVerify(session) {
  const issuer = `${endpoint}/${poolId}`;
  const verifier = JwtRsaVerifier.create({
    issuer,
    audience: null,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    customJwtCheck: ({ payload }) => {
      if ((payload.aud ?? payload.client_id) !== clientId) throw new Error('wrong client');
    },
  });
  const jwks = await (await fetch(`${issuer}/.well-known/jwks.json`)).json();
  verifier.cacheJwks(jwks);
  const idToken = session.getIdToken().getJwtToken();
  await verifier.verify(idToken);
  await verifier.verify(session.getAccessToken().getJwtToken());
  const [header, payload] = idToken.split('.');
  const forged = `${header}.${payload}.${Buffer.alloc(384, 7).toString('base64url')}`;
  const forgeryRejected = await verifier.verify(forged).then(() => false, () => true);
  const { alg } = JSON.parse(Buffer.from(header, 'base64url').toString());
  return { verified: true, forgeryRejected, alg };
}

const callbacks = {
  async onSuccess(session) {
    const checks = await verifyWithAwsJwtVerify(session).catch((error) => ({
      verified: false,
      verifyError: String(error),
    }));
    console.log(JSON.stringify({
      result: 'success',
      idToken: session.getIdToken().decodePayload(),
      accessToken: session.getAccessToken().decodePayload(),
      hasRefreshToken: Boolean(session.getRefreshToken().getToken()),
      ...checks,
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
