"""Domain errors: one class per thing that can go wrong, each with a message a person can act on.

Every door (CLI, server extension, builder API, magics) shows `str(error)` and nothing else;
`http_status` is the one place that decides what each error means on the wire.
"""

from __future__ import annotations


class DeployError(Exception):
    """Base of every error a user can cause or fix."""

    http_status = 400
    code = "deploy_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, str]:
        """The JSON error body every HTTP door answers with."""
        return {"error": self.code, "message": self.message}


# --- compiler ------------------------------------------------------------------------------


class CompileError(DeployError):
    """The notebook cannot be turned into a module."""

    http_status = 422
    code = "compile_error"


class NoPredictCell(CompileError):
    code = "no_predict_cell"


class MultiplePredictCells(CompileError):
    code = "multiple_predict_cells"


class NoPredictFunction(CompileError):
    code = "no_predict_function"


class CellSyntaxError(CompileError):
    code = "cell_syntax_error"


class UnresolvedName(CompileError):
    code = "unresolved_name"


class UnsupportedMagic(CompileError):
    code = "unsupported_magic"


class ArtifactNotCaptured(CompileError):
    """A computed value is needed but there is no kernel to take it from."""

    code = "artifact_not_captured"


class ArtifactNotSerializable(CompileError):
    code = "artifact_not_serializable"


class InvalidNotebook(CompileError):
    code = "invalid_notebook"


class OutOfDate(DeployError):
    """`export --check`: the committed module differs from what the notebook gives now."""

    code = "out_of_date"
    http_status = 409


# --- capture from a kernel -----------------------------------------------------------------


class NoRunningKernel(DeployError):
    http_status = 409
    code = "no_running_kernel"


class CaptureFailed(DeployError):
    http_status = 422
    code = "capture_failed"


class CaptureTimeout(CaptureFailed):
    http_status = 504
    code = "capture_timeout"


# --- builder -------------------------------------------------------------------------------


class InvalidBundle(DeployError):
    http_status = 400
    code = "invalid_bundle"


class BundleTooLarge(InvalidBundle):
    http_status = 413
    code = "bundle_too_large"


class InsufficientStorage(DeployError):
    """The build service's disk is full."""

    http_status = 507
    code = "insufficient_storage"


class Forbidden(DeployError):
    """The token is known but its role does not allow this."""

    http_status = 403
    code = "forbidden"


class NotFound(DeployError):
    http_status = 404
    code = "not_found"


class DeploymentNotFound(NotFound):
    code = "deployment_not_found"


class BuildNotFound(NotFound):
    code = "build_not_found"


class VersionNotFound(NotFound):
    code = "version_not_found"


class Conflict(DeployError):
    http_status = 409
    code = "conflict"


class OutputNotABundle(Conflict):
    """`export -o DIR` into a folder that holds other files than an earlier bundle."""

    code = "output_not_a_bundle"


class BuildFailed(DeployError):
    http_status = 422
    code = "build_failed"


class BuildTimeout(DeployError):
    """A build was followed longer than the caller wanted; it may still finish."""

    http_status = 504
    code = "build_timeout"


class ServiceUnreachable(DeployError):
    """A deployment's live API does not answer."""

    http_status = 502
    code = "service_unreachable"


class BackendUnavailable(DeployError):
    http_status = 503
    code = "backend_unavailable"


class Unauthorized(DeployError):
    http_status = 401
    code = "unauthorized"


class BuilderUnreachable(DeployError):
    """The configured build endpoint does not answer."""

    http_status = 502
    code = "builder_unreachable"


class BuilderError(DeployError):
    """The build endpoint answered with an error; carries its status and message."""

    code = "builder_error"

    def __init__(self, message: str, http_status: int = 502, code: str = "builder_error") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.code = code


class InvalidRequest(DeployError):
    http_status = 400
    code = "invalid_request"


class SplitUnsupported(InvalidRequest):
    """A canary or shadow this backend cannot run (the message says what to use instead)."""

    code = "split_unsupported"


class PathOutsideRoot(DeployError):
    http_status = 403
    code = "path_outside_root"


# --- calling a deployment (jupyter_deploy.connect) -----------------------------------------


class NoLiveVersion(DeployError):
    """The deployment exists but serves nothing yet (its first build has not finished)."""

    http_status = 409
    code = "no_live_version"


class InvalidInput(DeployError):
    """The model service refused the input (422); the message names the field."""

    http_status = 422
    code = "invalid_input"


class PredictFailed(DeployError):
    """`predict` raised inside the model service; `error_id` finds it in the service log."""

    http_status = 502
    code = "predict_failed"

    def __init__(self, message: str, error_id: str = "") -> None:
        super().__init__(message)
        self.error_id = error_id


class ModelUnavailable(DeployError):
    """The model service is unreachable or still answered 503 after every retry."""

    http_status = 503
    code = "model_unavailable"
