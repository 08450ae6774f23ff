// Self-service account flows with the unmodified amazon-cognito-identity-js against a running
// cognate: signUp, confirmRegistration (code read from a real SMTP server's Maildir),
// authenticateUser (SRP), changePassword, forgotPassword and confirmPassword (code read from the
// dev outbox), and sign-in with the final password.
// Usage: node account.mjs <endpoint> <poolId> <clientId> <maildir>
// Prints one JSON object with what each step saw.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AuthenticationDetails, CognitoUser, CognitoUserAttribute, CognitoUserPool,
} from 'amazon-cognito-identity-js';

const [endpoint, poolId, clientId, maildir] = process.argv.slice(2);
const pool = new CognitoUserPool({ UserPoolId: poolId, ClientId: clientId, endpoint });
const username = 'jane';
const email = 'jane@example.com';
const passwords = ['First-pass-1', 'Second-pass-2', 'Third-pass-3'];
const seen = {};

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sixDigits = (text) => (text.match(/(?<!\d)\d{6}(?!\d)/) || [])[0];
const asPromise = (call) => new Promise((resolve, reject) => {
  call((error, result) => (error ? reject(error) : resolve(result)));
});
const failure = (error) => ({ code: error.code, message: error.message });

async function codeFromMail(address) {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    let files = [];
    try { files = readdirSync(join(maildir, 'new')); } catch { /* not yet created */ }
    for (const file of files) {
      const raw = readFileSync(join(maildir, 'new', file), 'utf8');
      if (raw.includes(`To: ${address}`)) {
        return sixDigits(raw.split(/\r?\n\r?\n/).slice(1).join('\n'));
      }
    }
    await sleep(50);
  }
  throw new Error(`no email to ${address}`);
}

async function codeFromOutbox(count) {
  const url = `${endpoint}/_dev/outbox?userPoolId=${encodeURIComponent(poolId)}&username=${username}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const messages = await (await fetch(url)).json();
    if (messages.length >= count) return sixDigits(messages[0].body);
    await sleep(50);
  }
  throw new Error('no new message in the dev outbox');
}

function signIn(password) {
  const user = new CognitoUser({ Username: username, Pool: pool });
  return new Promise((resolve, reject) => {
    user.authenticateUser(new AuthenticationDetails({ Username: username, Password: password }), {
      onSuccess: () => resolve(user),
      onFailure: reject,
    });
  });
}

const signedUp = await asPromise((done) => pool.signUp(
  username, passwords[0], [new CognitoUserAttribute({ Name: 'email', Value: email })], null, done,
));
seen.signUp = {
  userConfirmed: signedUp.userConfirmed,
  userSub: signedUp.userSub,
  delivery: signedUp.codeDeliveryDetails,
};

const user = new CognitoUser({ Username: username, Pool: pool });
const code = await codeFromMail(email);
seen.wrongCode = await asPromise((done) => user.confirmRegistration(code === '000000' ? '000001' : '000000', true, done))
  .then(() => 'accepted', failure);
seen.confirmRegistration = await asPromise((done) => user.confirmRegistration(code, true, done));

const signedIn = await signIn(passwords[0]);
seen.changePassword = await asPromise((done) => signedIn.changePassword(passwords[0], passwords[1], done));
seen.oldPasswordAfterChange = await signIn(passwords[0]).then(() => 'accepted', failure);

seen.forgotPassword = await new Promise((resolve, reject) => {
  user.forgotPassword({
    onSuccess: resolve,
    onFailure: reject,
    inputVerificationCode: resolve,
  });
});
// The outbox holds the confirmation code and now the reset code.
const resetCode = await codeFromOutbox(2);
seen.confirmPassword = await new Promise((resolve, reject) => {
  user.confirmPassword(resetCode, passwords[2], { onSuccess: resolve, onFailure: reject });
});
seen.finalSignIn = await signIn(passwords[2]).then(
  (finalUser) => finalUser.getSignInUserSession().getIdToken().decodePayload().email,
  failure,
);
console.log(JSON.stringify(seen));
