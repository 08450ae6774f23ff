"""Signs in with the unmodified pycognito (USER_SRP_AUTH through its AWSSRP) against a running
cognate, verifies the tokens against cognate's JWKS with pycognito's own verifier, refreshes
them, reads the user, and checks a wrong password is refused.

Usage: python3 pycognito_check.py <endpoint> <pool id> <client id> <username> <password> [client secret]
Prints one JSON line of findings.
"""
import json
import sys

from botocore.exceptions import ClientError
from pycognito import Cognito

endpoint, pool_id, client_id, username, password = sys.argv[1:6]
secret = sys.argv[6] if len(sys.argv) > 6 else None
kwargs = {"endpoint_url": endpoint}


def user():
    return Cognito(pool_id, client_id, username=username, client_secret=secret,
                   boto3_client_kwargs=dict(kwargs))


findings = {}
signed_in = user()
signed_in.authenticate(password=password)
signed_in.verify_tokens()  # signature, issuer (= endpoint/pool id), audience, token_use
findings["id_token_username"] = signed_in.id_claims["cognito:username"]
findings["access_token_client"] = signed_in.access_claims["client_id"]
old_access_token = signed_in.access_token
signed_in.renew_access_token()
findings["refreshed"] = signed_in.access_token != old_access_token
signed_in.verify_tokens()
attributes = signed_in.get_user(attr_map={})
findings["email"] = getattr(attributes, "email", None)

try:
    user().authenticate(password=password + "x")
    findings["wrong_password"] = "accepted"
except ClientError as error:
    findings["wrong_password"] = error.response["Error"]["Code"]

print(json.dumps(findings))
