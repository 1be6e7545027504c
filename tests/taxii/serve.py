"""Runs medallion (OASIS's reference TAXII 2.1 server) on a loopback port for the TAXII tests.

Builds a memory-backend data file from STIX bundles given on the command line (read where they
are, never copied into the repository) and a configuration with a small page size, so that the
client's paging is exercised, then serves until killed.

    serve.py --port PORT --workdir DIR --page-size N BUNDLE.json...

API root `api1` holds two collections: "Incident reports" (readable and writable, every object of
the bundles, added a second apart from 2024-01-01) and "Restricted feed" (not readable). The only
user is `analyst`, password `correct horse`.
"""

import argparse
import datetime
import json
import os
import sys

READABLE = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
RESTRICTED = "52892447-4d7e-4f70-b94d-d7f22742ff63"
USERS = {"analyst": "correct horse"}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--page-size", type=int, default=20)
    parser.add_argument("bundles", nargs="+")
    args = parser.parse_args()

    objects = []
    for path in args.bundles:
        with open(path, encoding="utf-8") as f:
            objects.extend(json.load(f)["objects"])

    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    manifest = []
    for n, obj in enumerate(objects):
        added = start + datetime.timedelta(seconds=n)
        manifest.append({
            "id": obj["id"],
            "date_added": added.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "version": obj.get("modified", obj.get("created")),
            "media_type": "application/stix+json;version=2.1",
        })

    base = f"http://127.0.0.1:{args.port}"
    data = {
        "/discovery": {
            "title": "Test TAXII server",
            "description": "medallion with the OASIS STIX examples",
            "default": f"{base}/api1/",
            "api_roots": [f"{base}/api1/"],
        },
        "api1": {
            "information": {
                "title": "Incident sharing",
                "description": "Incident reports of the test team",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10485760,
            },
            "status": [],
            "collections": [
                {
                    "id": READABLE,
                    "title": "Incident reports",
                    "description": "Campaigns and incidents from the OASIS STIX examples",
                    "can_read": True,
                    "can_write": True,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": objects,
                    "manifest": manifest,
                },
                {
                    "id": RESTRICTED,
                    "title": "Restricted feed",
                    "description": "Not readable for the analyst",
                    "can_read": False,
                    "can_write": False,
                    "media_types": ["application/stix+json;version=2.1"],
                    "objects": [],
                    "manifest": [],
                },
            ],
        },
    }
    data_path = os.path.join(args.workdir, "data.json")
    with open(data_path, "w", encoding="utf-8") as f:
        json.dump(data, f)
    config = {
        "backend": {
            "module": "medallion.backends.memory_backend",
            "module_class": "MemoryBackend",
            "filename": data_path,
        },
        "users": USERS,
        "taxii": {"max_page_size": args.page_size},
    }
    config_path = os.path.join(args.workdir, "config.json")
    with open(config_path, "w", encoding="utf-8") as f:
        json.dump(config, f)

    from medallion import application_instance, register_blueprints, set_config

    for prop in ("users", "taxii", "backend"):
        set_config(application_instance, prop, config)
    register_blueprints(application_instance)
    print(f"serving {len(objects)} objects on {base}", file=sys.stderr, flush=True)
    application_instance.run(host="127.0.0.1", port=args.port, debug=False, use_reloader=False)


if __name__ == "__main__":
    main()
