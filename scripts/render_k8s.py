"""Render deploy/k8s as `kubectl kustomize deploy/k8s` would, and validate it offline.

    python scripts/render_k8s.py [DIR]                  # the objects, as multi-document YAML
    python scripts/render_k8s.py [DIR] --validate 1.33  # and check each against that version

Neither kubectl nor kustomize can be installed from the project's own files (Debian's
kubernetes-client is 1.20, PyPI has no kustomize of the Kubernetes project), so this renders
the one kustomization the project has. It knows only the fields that kustomization uses
(`resources` as local files, `images`) and refuses any other, so it cannot silently render
something else than kustomize would; tests/deploy/test_k8s.py compares it with `kubectl
kustomize` wherever a kubectl is on PATH. Validation uses kubernetes-validate's bundled schemas
of one pinned Kubernetes version, strict: an unknown or misspelt field is an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # no py.typed
import yaml

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "deploy" / "k8s"
# The oldest Kubernetes the manifests are meant for (every field used is GA or on by default
# there); the test validates against it and against the newest version kubernetes-validate has.
KUBERNETES_VERSION = "1.33"

KNOWN_FIELDS = frozenset({"apiVersion", "kind", "resources", "images"})
IMAGE_FIELDS = frozenset({"name", "newName", "newTag", "digest"})
Object = dict[str, Any]


class RenderError(ValueError):
    """The kustomization uses something this renderer does not implement."""


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference such as registry:5000/app:1.0@sha256:..."""
    name, _, digest = image.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    tag = None
    if colon > slash:
        name, tag = name[:colon], name[colon + 1 :]
    return name, tag, digest or None


def set_images(obj: Object, images: list[Object]) -> None:
    """kustomize's `images` transformer, for the containers of a pod template."""
    pod = obj.get("spec", {}).get("template", {}).get("spec", {})
    for container in pod.get("initContainers", []) + pod.get("containers", []):
        name, tag, digest = split_image(container["image"])
        for image in images:
            if image["name"] != name:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                tag, digest = None, image["digest"]
            elif "newTag" in image:
                tag, digest = image["newTag"], None
        reference = name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")
        container["image"] = reference


def load_documents(path: Path) -> list[Object]:
    """The non-empty YAML documents of one file, YAML aliases expanded into copies."""
    with path.open(encoding="utf-8") as stream:
        docs = [doc for doc in yaml.safe_load_all(stream) if doc is not None]
    return [json.loads(json.dumps(doc)) for doc in docs]


def render(directory: Path = DEFAULT_DIR) -> list[Object]:
    """The objects the kustomization in `directory` makes, in its resources' order."""
    (kustomization,) = load_documents(directory / "kustomization.yaml")
    unknown = set(kustomization) - KNOWN_FIELDS
    if unknown:
        raise RenderError(f"kustomization fields not implemented here: {sorted(unknown)}")
    if kustomization.get("kind") != "Kustomization":
        raise RenderError("kustomization.yaml is not a Kustomization")
    images: list[Object] = kustomization.get("images", [])
    for image in images:
        if set(image) - IMAGE_FIELDS or "name" not in image:
            raise RenderError(f"image entry not implemented here: {image}")
    objects: list[Object] = []
    for resource in kustomization.get("resources", []):
        path = (directory / resource).resolve()
        if not path.is_file() or directory.resolve() not in path.parents:
            raise RenderError(f"only files inside {directory} are implemented: {resource}")
        objects.extend(load_documents(path))
    for obj in objects:
        set_images(obj, images)
    return objects


def validate(objects: list[Object], version: str = KUBERNETES_VERSION) -> None:
    """Each object against the strict schemas of `version` (raises on the first invalid one)."""
    for obj in objects:
        kubernetes_validate.validate(obj, version, strict=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--validate", metavar="VERSION", help="e.g. " + KUBERNETES_VERSION)
    args = parser.parse_args()
    objects = render(args.directory)
    if args.validate:
        try:
            validate(objects, args.validate)
        except kubernetes_validate.ValidationError as error:
            sys.exit(f"invalid for Kubernetes {args.validate}: {error}")
    yaml.safe_dump_all(objects, sys.stdout, sort_keys=False)


if __name__ == "__main__":
    main()
