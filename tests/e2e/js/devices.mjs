// Device tracking with the unmodified amazon-cognito-identity-js against a running cognate:
// authenticateUser (the library confirms the new device itself), setDeviceStatusRemembered,
// listDevices, then a second sign-in that the library completes with DEVICE_SRP_AUTH and
// DEVICE_PASSWORD_VERIFIER, and forgetDevice.
// Usage: node devices.mjs <endpoint> <poolId> <clientId> <username> <password>
// Prints one JSON object with what each step saw, including the operations and challenges sent.
import { AuthenticationDetails, CognitoUser, CognitoUserPool } from 'amazon-cognito-identity-js';

const [endpoint, poolId, clientId, username, password] = process.argv.slice(2);
const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint });
const seen = {};

// Watches the library's requests without changing them.
let sent = [];
const originalFetch = globalThis.fetch;
globalThis.fetch = (url, options) => {
  const target = (options.headers['X-Amz-Target'] || '').split('.').pop();
  const body = JSON.parse(options.body);
  sent.push(body.ChallengeName ? `${target}:${body.ChallengeName}` : target);
  return originalFetch(url, options);
};

const failure = (error) => ({ code: error.code, message: error.message });
const signIn = (user) => new Promise((resolve, reject) => {
  user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
    onSuccess: (session, userConfirmationNecessary) => resolve({ session, userConfirmationNecessary }),
    onFailure: reject,
  });
});
const call = (invoke) => new Promise((resolve, reject) => {
  invoke({ onSuccess: resolve, onFailure: reject });
});

try {
  const first = new CognitoUser({ Username: username, Pool: pool });
  const signedIn = await signIn(first);
  seen.first = { sent: [...sent], userConfirmationNecessary: signedIn.userConfirmationNecessary };
  seen.remembered = await call((callbacks) => first.setDeviceStatusRemembered(callbacks));
  const listed = await new Promise((resolve, reject) => {
    first.listDevices(10, null, { onSuccess: resolve, onFailure: reject });
  });
  seen.devices = listed.Devices.map((device) => Object.fromEntries(
    device.DeviceAttributes.map((attribute) => [attribute.Name, attribute.Value]),
  ));

  sent = [];
  const second = new CognitoUser({ Username: username, Pool: pool });
  const again = await signIn(second);
  seen.second = { sent: [...sent], tokenUse: again.session.getAccessToken().decodePayload().token_use };
  seen.forgotten = await call((callbacks) => second.forgetDevice(callbacks));

  sent = [];
  const third = new CognitoUser({ Username: username, Pool: pool });
  await signIn(third);
  seen.third = { sent: [...sent] };
} catch (error) {
  seen.error = failure(error);
}
console.log(JSON.stringify(seen));
