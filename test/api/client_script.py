"""An operator's script against the hub REST API, as written for JupyterHub (requests only).

Usage: client_script.py HUB_API_URL TOKEN PREFIX
Creates users, lists them with pagination, creates a token, uses it, cleans up.
Prints one JSON summary line.
"""
import json
import sys

import requests

api, token, prefix = sys.argv[1], sys.argv[2], sys.argv[3]
s = requests.Session()
s.headers["Authorization"] = f"token {token}"

r = s.get(api + "/")
r.raise_for_status()
version = r.json()["version"]

names = [f"{prefix}-{i}" for i in range(25)]
r = s.post(api + "/users", json={"usernames": names})
r.raise_for_status()
created = [u["name"] for u in r.json()]

# paginate like jupyterhub-idle-culler does
seen = []
url = api + "/users?limit=10"
pages = 0
while url:
    r = s.get(url, headers={"Accept": "application/jupyterhub-pagination+json"})
    r.raise_for_status()
    data = r.json()
    seen.extend(u["name"] for u in data["items"])
    nxt = data["_pagination"]["next"]
    url = nxt["url"] if nxt else None
    pages += 1

r = s.post(f"{api}/users/{names[0]}/tokens", json={"note": "script", "expires_in": 600})
r.raise_for_status()
tok = r.json()["token"]
me = requests.get(api + "/user", headers={"Authorization": f"token {tok}"})
me.raise_for_status()

forbidden = requests.get(api + "/users", headers={"Authorization": f"token {tok}"}).status_code

for n in names:
    s.delete(f"{api}/users/{n}").raise_for_status()

print(json.dumps({
    "version": version,
    "created": len(created),
    "listed": len([n for n in seen if n.startswith(prefix)]),
    "pages": pages,
    "whoami": me.json()["name"],
    "forbidden": forbidden,
    "remaining": len([u for u in s.get(api + "/users").json() if u["name"].startswith(prefix)]),
}))
