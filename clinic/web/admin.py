"""Placeholder blueprint: being written."""

from flask import Blueprint

bp = Blueprint("admin", __name__)
