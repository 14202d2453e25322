"""Errors of the test environment.

TestEnvError            anything that stops the environment from coming up
├── PrerequisiteError   a program, package or toolchain is missing; the message names the fix
└── ServiceError        a service failed to start or answer; the message has its log tail
"""

from __future__ import annotations


class TestEnvError(Exception):
    """The test environment could not be brought up or used."""

    __test__ = False  # not a pytest test class


class PrerequisiteError(TestEnvError):
    """Something the environment needs is not installed."""


class ServiceError(TestEnvError):
    """A service of the environment did not start or did not become ready."""
