"""Write sample config repos for the sync tests (plain files in a temp dir)."""

from __future__ import annotations

from pathlib import Path

import yaml


def dump(*documents: dict) -> str:
    return "---\n".join(yaml.safe_dump(d, sort_keys=False) for d in documents)


def deployment(name: str, namespace: str, *, image: str = "nginx:1.25", **annotations: str):
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations or None},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
        },
    }


def service(name: str, namespace: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
    }


def configmap(name: str, namespace: str, **data: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, "labels": {"team": "sync-test"}},
        "data": data or {"key": name},
    }


def crd(group: str) -> dict:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {"size": {"type": "integer"}},
                                }
                            },
                        }
                    },
                }
            ],
        },
    }


def widget(group: str, name: str, namespace: str, size: int) -> dict:
    return {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"size": size},
    }


def write_mixed_repo(root: Path, namespace: str, group: str) -> int:
    """A repo of 30 objects of mixed kinds, files written in no particular dependency order;
    returns the number of objects."""
    ns = namespace
    files = {
        # Custom resources come first alphabetically: ordering must not depend on file names.
        "a-widgets.yaml": [widget(group, f"w{i}", ns, i) for i in range(5)],
        "jobs/migrate.yaml": [
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "migrate", "namespace": ns},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "migrate", "image": "migrate:1"}],
                        }
                    }
                },
            }
        ],
        "apps/web/deploy.yaml": [deployment("web", ns), service("web", ns)],
        "apps/api/deploy.yml": [deployment("api", ns), service("api", ns)],
        "apps/worker.yaml": [deployment("worker", ns), deployment("cron", ns)],
        "apps/db.yaml": [
            {
                "apiVersion": "apps/v1",
                "kind": "StatefulSet",
                "metadata": {"name": "db", "namespace": ns},
                "spec": {
                    "replicas": 1,
                    "serviceName": "db",
                    "selector": {"matchLabels": {"app": "db"}},
                    "template": {
                        "metadata": {"labels": {"app": "db"}},
                        "spec": {"containers": [{"name": "db", "image": "postgres:16"}]},
                    },
                },
            },
            service("db", ns),
        ],
        "config/list.yaml": [
            {
                "apiVersion": "v1",
                "kind": "List",
                "items": [configmap(f"list-{i}", ns) for i in range(4)],
            }
        ],
        "config/more.yaml": [configmap(f"cm-{i}", ns) for i in range(6)]
        + [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "creds", "namespace": ns},
                "stringData": {"password": "hunter2"},
            }
        ],
        "rbac.yaml": [
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "app", "namespace": ns},
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "reader", "namespace": ns},
                "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "reader", "namespace": ns},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "reader",
                },
                "subjects": [{"kind": "ServiceAccount", "name": "app", "namespace": ns}],
            },
        ],
        "README.md": None,
        "zz-crd.yaml": [crd(group)],
        "zz-namespace.yaml": [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}],
    }
    count = 0
    for relative, documents in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if documents is None:
            path.write_text("# not a manifest\n")
            continue
        path.write_text(dump(*documents))
        for document in documents:
            count += len(document["items"]) if document["kind"] == "List" else 1
    return count
