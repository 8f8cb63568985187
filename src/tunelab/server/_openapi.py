"""The OpenAPI 3.0 description of the REST API (served at ``GET /openapi.json``, public:
it holds no data). A fuzzer such as schemathesis can drive the API from it."""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["openapi_document"]

_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "key": {"type": "string", "description": "key path of the refused value"},
    },
}
_TRIAL = {
    "type": "object",
    "required": ["id", "trainable_name", "config", "status", "result"],
    "properties": {
        "id": {"type": "string"},
        "trial_id": {"type": "string"},
        "name": {"type": "string"},
        "trainable_name": {"type": "string"},
        "experiment": {"type": "string"},
        "status": {
            "type": "string",
            "enum": ["PENDING", "RUNNING", "PAUSED", "TERMINATED", "ERROR"],
        },
        "config": {"type": "object"},
        "params": {"type": "object"},
        "experiment_tag": {"type": "string"},
        "result": {"type": "object"},
        "metrics": {"type": "object", "additionalProperties": {"type": "number"}},
        "iterations": {},
        "time_total_s": {},
        "error": {"type": "string", "nullable": True},
        "num_failures": {"type": "integer"},
        "logdir": {"type": "string"},
        "updated": {"type": "integer"},
    },
}
_TRIALS = {
    "type": "object",
    "required": ["trials"],
    "properties": {"trials": {"type": "array", "items": {"$ref": "#/components/schemas/Trial"}}},
}
_SPEC = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "config": {
            "type": "object",
            "description": "the search space, as data only: values, lists, dicts and "
            '{"grid_search": [...]}; {"eval": ...} is refused (400)',
        },
        "num_samples": {"type": "integer", "minimum": 1, "maximum": 1000},
        "run": {"type": "string", "description": "the experiment's trainable name"},
    },
}


def _json(schema: str, description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "malformed request or refused spec",
        401: "missing or wrong token",
        403: "a read-only server (an experiment from disk)",
        404: "unknown trial",
        405: "method not allowed here",
        409: "the experiment has finished",
        411: "a body without Content-Length",
        413: "body over the size limit",
        503: "the experiment's loop did not answer in time",
    }
    return {str(code): _json("Error", text[code]) for code in (401, 405, *codes)}


_TRIAL_ID = {"name": "trial_id", "in": "path", "required": True, "schema": {"type": "string"}}

_DOCUMENT: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "tunelab experiment API",
        "version": "1",
        "description": "The REST API of a running tunelab experiment. Every route but "
        "/openapi.json and /static/* needs 'Authorization: Bearer <token>'.",
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "Error": _ERROR,
            "Trial": _TRIAL,
            "Trials": _TRIALS,
            "Spec": _SPEC,
            "AddTrials": {
                "type": "object",
                "required": ["name", "spec"],
                "additionalProperties": False,
                "properties": {
                    "name": {"type": "string"},
                    "spec": {"$ref": "#/components/schemas/Spec"},
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "paths": {
        "/experiment": {
            "get": {
                "summary": "name, metric, mode, counts, finished, controllable",
                "responses": {
                    "200": {
                        "description": "experiment",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(),
                },
            }
        },
        "/trials": {
            "get": {
                "summary": "every trial",
                "responses": {"200": _json("Trials", "the trials"), **_errors()},
            },
            "post": {
                "summary": "add trials expanded from a spec",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/AddTrials"}}
                    },
                },
                "responses": {
                    "201": _json("Trials", "the new trials"),
                    **_errors(400, 403, 409, 411, 413, 503),
                },
            },
        },
        "/trials/{trial_id}": {
            "parameters": [_TRIAL_ID],
            "get": {
                "summary": "one trial",
                "responses": {
                    "200": {
                        "description": "the trial",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"trial": {"$ref": "#/components/schemas/Trial"}},
                                }
                            }
                        },
                    },
                    **_errors(404),
                },
            },
            "put": {
                "summary": "stop the trial",
                "responses": {
                    "200": _json("Trials", "the stopped trial"),
                    **_errors(403, 404, 409, 503),
                },
            },
        },
        "/trials/{trial_id}/history": {
            "parameters": [_TRIAL_ID],
            "get": {
                "summary": "the kept results (numeric metrics) of one trial",
                "responses": {
                    "200": {
                        "description": "history",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(404),
                },
            },
        },
        "/results": {
            "get": {
                "summary": "what changed after sequence number `since`",
                "parameters": [
                    {
                        "name": "since",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 0},
                    },
                    {
                        "name": "max",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "changes",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    },
                    **_errors(400),
                },
            }
        },
        "/stop_experiment": {
            "put": {
                "summary": "stop the experiment (running trials are stopped)",
                "responses": {
                    "200": _json("Trials", "every trial"),
                    **_errors(403, 409, 503),
                },
            }
        },
    },
}


def openapi_document() -> dict[str, Any]:
    """A fresh copy of the API's OpenAPI 3.0 description."""
    return copy.deepcopy(_DOCUMENT)
