#!/usr/bin/env python3
"""Generate Cognate's protobuf definitions from the botocore Cognito service models.

Cognate speaks Cognito's AWS JSON wire protocol at its HTTP edge and dispatches to
gRPC services internally. The edge converts AWS JSON <-> protobuf generically, so the
.proto files and a JSON sidecar (``model.json``) are derived mechanically from the
botocore models of cognito-idp, cognito-identity and cognito-sync.

    python3 proto/generate.py           # (re)write every generated file
    python3 proto/generate.py --check   # exit 1 if the checked-in files are stale

Conventions (the edge relies on them):
* one rpc per operation; a missing input/output shape becomes the empty message ``Unit``;
* one message per structure shape reachable from an operation (exceptions excluded),
  fields in botocore member order, numbered from 1, snake_case names, and
  ``json_name`` = the exact wire name;
* scalars are ``optional``; timestamps are epoch seconds (``double``); lists are
  ``repeated``; string-keyed maps are ``map<string, T>``. A list/map nested directly
  in a list/map gets a wrapper message ``<ShapeName>Entry`` (field ``items`` or
  ``entries``), flagged ``"wrapper": true`` in the sidecar;
* ``document`` shapes (free-form JSON) become ``google.protobuf.Value``, flagged
  ``"document": true`` in the sidecar; ``union`` shapes (none in the pinned models)
  become ordinary messages flagged ``"union": true`` (exactly-one is the edge's job);
* sidecar member metadata: ``enum`` (for a list: each element's allowed values),
  ``min``/``max`` (string length, list/map size or numeric range, as in the model),
  and for rest-json the HTTP binding (``location``, ``location_name``).
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import botocore
from botocore.loaders import Loader

BOTOCORE_VERSION = "1.43.11"
ROOT = Path(__file__).resolve().parent  # the proto/ directory

FEDERATION = """CreateIdentityProvider DescribeIdentityProvider UpdateIdentityProvider
    DeleteIdentityProvider ListIdentityProviders GetIdentityProviderByIdentifier
    AdminLinkProviderForUser AdminDisableProviderForUser""".split()
AUTH = """InitiateAuth AdminInitiateAuth RespondToAuthChallenge AdminRespondToAuthChallenge
    GetTokensFromRefreshToken RevokeToken GlobalSignOut AdminUserGlobalSignOut
    AssociateSoftwareToken VerifySoftwareToken SetUserMFAPreference AdminSetUserMFAPreference
    SetUserSettings AdminSetUserSettings ConfirmDevice ForgetDevice AdminForgetDevice GetDevice
    AdminGetDevice ListDevices AdminListDevices UpdateDeviceStatus AdminUpdateDeviceStatus
    GetSigningCertificate GetUserAuthFactors StartWebAuthnRegistration
    CompleteWebAuthnRegistration ListWebAuthnCredentials DeleteWebAuthnCredential
    AdminListUserAuthEvents AdminUpdateAuthEventFeedback UpdateAuthEventFeedback""".split()

# (botocore service, api version, short name, [(grpc service, operations or None = the rest)])
SERVICES = [
    ("cognito-idp", "2016-04-18", "idp",
     [("Directory", None), ("Auth", AUTH), ("Federation", FEDERATION)]),
    ("cognito-identity", "2014-06-30", "identity", [("IdentityPools", None)]),
    ("cognito-sync", "2014-06-30", "sync", [("Sync", None)]),
]

SCALARS = {"string": "string", "boolean": "bool", "integer": "int32", "long": "int64",
           "float": "double", "double": "double", "timestamp": "double", "blob": "bytes"}
UNIT = "Unit"
DOCUMENT = "google.protobuf.Value"


class GenerationError(Exception):
    pass


def snake(name: str) -> str:
    """UserPoolId -> user_pool_id, SRP_A -> srp_a, CallbackURLs -> callback_urls."""
    name = name.replace("OAuth", "Oauth")
    name = re.sub(r"([A-Z]{2,})s(?=[A-Z_]|$)", lambda m: m.group(1) + "S", name)  # URLs, ARNs
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"_+", "_", name).lower()


class Service:
    """Turns one botocore service model into (proto text, sidecar dict)."""

    def __init__(self, model: dict, short: str, groups: list):
        self.model, self.shapes, self.meta = model, model["shapes"], model["metadata"]
        self.package = f"cognate.{short}.v1"
        self.rest = self.meta["protocol"] == "rest-json"
        self.groups = groups
        self.messages: dict[str, list[str]] = {}   # message name -> field lines
        self.sidecar_shapes: dict[str, dict] = {}
        self.uses_document = False
        if UNIT in self.shapes:
            raise GenerationError(f"{model['metadata']['uid']} already defines a shape named {UNIT}")

    # -- types -------------------------------------------------------------------------
    def field_type(self, target: str, meta: dict) -> str:
        """Proto type for a member targeting `target`, including its label."""
        shape = self.shapes[target]
        kind = shape["type"]
        if kind in SCALARS:
            return f"optional {SCALARS[kind]}"
        if kind == "list":
            return f"repeated {self.element_type(shape['member']['shape'], meta)}"
        if kind == "map":
            key = self.shapes[shape["key"]["shape"]]
            if key["type"] != "string":
                raise GenerationError(f"map {target} has non-string key type {key['type']}")
            return f"map<string, {self.element_type(shape['value']['shape'], meta)}>"
        return self.element_type(target, meta)

    def element_type(self, target: str, meta: dict) -> str:
        """Proto type usable as a list element / map value (no label)."""
        shape = self.shapes[target]
        kind = shape["type"]
        if kind in SCALARS:
            return SCALARS[kind]
        if kind == "structure" and shape.get("document"):
            self.uses_document = True
            meta["document"] = True
            return DOCUMENT
        if kind == "structure":
            if shape.get("exception"):
                raise GenerationError(f"exception shape {target} used as data")
            self.emit_structure(target)
            return target
        if kind in ("list", "map"):  # nested container: needs a wrapper message
            meta["wrapper"] = True
            return self.emit_wrapper(target)
        raise GenerationError(f"shape {target}: unsupported type {kind}")

    # -- messages ----------------------------------------------------------------------
    def emit_structure(self, name: str) -> None:
        if name in self.messages:
            return
        self.messages[name] = lines = []  # registered first: shapes may be recursive
        shape = self.shapes[name]
        members: dict[str, dict] = {}
        wire_of: dict[str, str] = {}
        seen: dict[str, str] = {}
        for number, (member, ref) in enumerate(shape.get("members", {}).items(), start=1):
            field = snake(member)
            if field in seen:
                raise GenerationError(f"{name}: members {seen[field]} and {member} both map to {field}")
            seen[field] = member
            http_bound = self.rest and "location" in ref
            wire = member if http_bound else ref.get("locationName", member)
            wire_of[member] = wire
            meta = self.constraints(ref["shape"])
            if http_bound:
                meta["location"] = ref["location"]
                meta["location_name"] = ref.get("locationName", member)
            ptype = self.field_type(ref["shape"], meta)
            lines.append(f'{ptype} {field} = {number} [json_name = "{wire}"];')
            members[wire] = meta
        required = [wire_of[m] for m in shape.get("required", [])]
        self.sidecar_shapes[name] = {"required": required, "members": members}
        if shape.get("union"):
            self.sidecar_shapes[name]["union"] = True

    def emit_wrapper(self, target: str) -> str:
        name = f"{target}Entry"
        if name in self.shapes:
            raise GenerationError(f"wrapper name {name} clashes with a model shape")
        if name not in self.messages:
            self.messages[name] = []
            field = "entries" if self.shapes[target]["type"] == "map" else "items"
            meta = self.constraints(target)
            ptype = self.field_type(target, meta)
            self.messages[name].append(f'{ptype} {field} = 1 [json_name = "{field}"];')
            self.sidecar_shapes[name] = {"required": [], "members": {field: meta}, "wrapper": True}
        return name

    def constraints(self, target: str) -> dict:
        shape = self.shapes[target]
        meta = {k: shape[k] for k in ("min", "max") if k in shape}
        enum_src = self.shapes[shape["member"]["shape"]] if shape["type"] == "list" else shape
        if "enum" in enum_src:
            meta["enum"] = list(enum_src["enum"])
        return meta

    # -- whole file --------------------------------------------------------------------
    def assign(self) -> dict[str, str]:
        ops = self.model["operations"]
        owner: dict[str, str] = {}
        for svc, names in self.groups:
            for op in names or []:
                if op not in ops:
                    print(f"warning: {self.meta['uid']}: {op} (listed for {svc}) is not in the model; skipped",
                          file=sys.stderr)
                elif op in owner:
                    raise GenerationError(f"{op} assigned to both {owner[op]} and {svc}")
                else:
                    owner[op] = svc
        default = next(svc for svc, names in self.groups if names is None)
        return {op: owner.get(op, default) for op in ops}

    def build(self) -> tuple[str, dict]:
        owner = self.assign()
        operations, rpcs = {}, {svc: [] for svc, _ in self.groups}
        for op_name, op in self.model["operations"].items():
            io = []
            for key in ("input", "output"):
                if key in op:
                    self.emit_structure(op[key]["shape"])
                io.append(op[key]["shape"] if key in op else UNIT)
            unsigned = op.get("authtype") == "none" or "smithy.api#noAuth" in op.get("auth", [])
            entry = {"grpc_service": f"{self.package}.{owner[op_name]}", "input": io[0], "output": io[1],
                     "unsigned": unsigned, "errors": [e["shape"] for e in op.get("errors", [])]}
            if self.rest:
                entry["http"] = {"method": op["http"]["method"], "uri": op["http"]["requestUri"]}
                if "responseCode" in op["http"]:
                    entry["http"]["response_code"] = op["http"]["responseCode"]
            operations[op_name] = entry
            rpcs[owner[op_name]].append(f"rpc {op_name}({io[0]}) returns ({io[1]});")
        self.messages[UNIT] = []
        self.sidecar_shapes[UNIT] = {"required": [], "members": {}}
        self.check_names([svc for svc, _ in self.groups] + list(self.messages))
        self.check_names(list(operations))
        return self.render(rpcs), self.sidecar(operations)

    @staticmethod
    def check_names(names: list[str]) -> None:
        """Names differing only in case would collide once prost/tonic re-case them."""
        seen: dict[str, str] = {}
        for name in names:
            if name.lower() in seen:
                raise GenerationError(f"name clash after re-casing: {seen[name.lower()]} / {name}")
            seen[name.lower()] = name

    def render(self, rpcs: dict[str, list[str]]) -> str:
        out = [f"// Code generated by proto/generate.py from botocore {BOTOCORE_VERSION}"
               f" ({self.meta['uid']}). DO NOT EDIT.",
               "// Regenerate with `python3 proto/generate.py`; CI runs `python3 proto/generate.py --check`.",
               'syntax = "proto3";', "", f"package {self.package};", ""]
        if self.uses_document:
            out += ['import "google/protobuf/struct.proto";', ""]
        for svc, lines in rpcs.items():
            out += [f"service {svc} {{"] + [f"  {line}" for line in lines] + ["}", ""]
        for name in sorted(self.messages):
            fields = self.messages[name]
            if not fields:
                out += [f"message {name} {{}}", ""]
                continue
            out += [f"message {name} {{"] + [f"  {f}" for f in fields] + ["}", ""]
        return "\n".join(out).rstrip("\n") + "\n"

    def sidecar(self, operations: dict) -> dict:
        errors = {}
        for name, shape in self.shapes.items():
            if shape.get("exception"):
                err = shape.get("error", {})
                server = shape.get("fault", False) or err.get("senderFault") is False
                status = err.get("httpStatusCode", 500 if server else 400)
                errors[name] = {"http_status": status, "fault": "server" if server else "client"}
                if "code" in err:
                    errors[name]["code"] = err["code"]
        return {
            "botocore_version": BOTOCORE_VERSION,
            "api_version": self.meta["apiVersion"],
            "protocol": self.meta["protocol"],
            "json_version": None if self.rest else self.meta["jsonVersion"],  # x-amz-json-1.x
            "target_prefix": None if self.rest else self.meta["targetPrefix"],
            "signing_name": self.meta.get("signingName", self.meta["endpointPrefix"]),
            "proto_package": self.package,
            "operations": operations,
            "shapes": self.sidecar_shapes,
            "errors": errors,
        }


def generate() -> dict[Path, str]:
    if botocore.__version__ != BOTOCORE_VERSION:
        raise GenerationError(f"installed botocore is {botocore.__version__}, but generate.py is pinned to "
                              f"{BOTOCORE_VERSION}; install botocore=={BOTOCORE_VERSION} or bump the pin")
    # Only botocore's bundled data: ignore ~/.aws/models and other local overrides.
    loader = Loader(extra_search_paths=[Loader.BUILTIN_DATA_PATH], include_default_search_paths=False)
    files = {}
    for service, api_version, short, groups in SERVICES:
        model = loader.load_service_model(service, "service-2", api_version)
        proto, sidecar = Service(model, short, groups).build()
        base = ROOT / "cognate" / short / "v1"
        files[base / f"{short}.proto"] = proto
        files[base / "model.json"] = json.dumps(sidecar, separators=(",", ":"), sort_keys=True) + "\n"
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="don't write; exit 1 if any generated file differs from what is on disk")
    args = parser.parse_args()
    try:
        files = generate()
    except GenerationError as err:
        print(f"generate.py: error: {err}", file=sys.stderr)
        return 1
    if args.check:
        stale = [p for p, text in files.items() if not p.is_file() or p.read_text() != text]
        for path in stale:
            print(f"generate.py: stale or missing: {path.relative_to(ROOT.parent)}", file=sys.stderr)
        if stale:
            print("generate.py: run `python3 proto/generate.py` and commit the result", file=sys.stderr)
            return 1
        print(f"generate.py: {len(files)} generated files are up to date")
        return 0
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path.relative_to(ROOT.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
