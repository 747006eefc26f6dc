"""Packaging that pyproject.toml cannot say: the top-level templates/ and examples/ (the bundled demo)
go into the wheel as package data under remediation/ (remediation/templates, remediation/demo), where
remediation/resources.py finds them; in a checkout they stay where they are."""

from setuptools import find_packages, setup

BUNDLED = {"remediation.templates": "templates", "remediation.demo": "examples"}
# glob skips dot files: the demo's .env, .env.example and .gitignore are part of it.
EVERY_FILE = ["**/*", "**/.*"]

setup(
    packages=[*find_packages(include=["remediation", "remediation.*"]), *BUNDLED],
    package_dir={name: folder for name, folder in BUNDLED.items()},
    package_data={name: EVERY_FILE for name in BUNDLED},
    exclude_package_data={name: ["**/__pycache__/*", "**/*.pyc", "**/.remediation/**"] for name in BUNDLED},
)
