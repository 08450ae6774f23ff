// DefineAuthChallenge, CreateAuthChallenge and VerifyAuthChallengeResponse in one webhook, as a
// Lambda would answer them for CUSTOM_AUTH with SRP first: PASSWORD_VERIFIER after SRP_A, then
// the question "2 + 2", then tokens. Every Define request's session (the challenge names) is kept.
// Usage: node custom-triggers.mjs <port> <record file>
import { createServer } from 'node:http';
import { appendFileSync } from 'node:fs';

const [port, record] = process.argv.slice(2);

function respond(event) {
  const steps = event.request.session ?? [];
  const names = steps.map((step) => `${step.challengeName}:${step.challengeResult}`).join(',');
  switch (event.triggerSource) {
    case 'DefineAuthChallenge_Authentication':
      appendFileSync(record, `${JSON.stringify(steps.map((step) => step.challengeName))}\n`);
      if (names === 'SRP_A:true') {
        return { challengeName: 'PASSWORD_VERIFIER', issueTokens: false, failAuthentication: false };
      }
      if (names === 'SRP_A:true,PASSWORD_VERIFIER:true') {
        return { challengeName: 'CUSTOM_CHALLENGE', issueTokens: false, failAuthentication: false };
      }
      if (names === 'SRP_A:true,PASSWORD_VERIFIER:true,CUSTOM_CHALLENGE:true') {
        return { issueTokens: true, failAuthentication: false };
      }
      return { issueTokens: false, failAuthentication: true };
    case 'CreateAuthChallenge_Authentication':
      return {
        publicChallengeParameters: { question: '2 + 2' },
        privateChallengeParameters: { answer: '4' },
        challengeMetadata: 'ARITHMETIC',
      };
    default:
      return {
        answerCorrect: event.request.challengeAnswer === event.request.privateChallengeParameters.answer,
      };
  }
}

createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => { body += chunk; });
  request.on('end', () => {
    const event = JSON.parse(body);
    event.response = respond(event);
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify(event));
  });
}).listen(Number(port), '127.0.0.1');
