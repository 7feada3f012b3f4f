"""`DeployExtension`: the jupyter_server extension that deploys notebooks from the server.

Configured with traitlets (see docs/configuration.md). With no `builder_url`, it starts the
embedded build service (local backend, 127.0.0.1, random token) and stops it with the server.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Float, Unicode

from jupyter_deploy.builder.client import TOKEN_ENV, URL_ENV, BuilderClient
from jupyter_deploy.server.handlers import HANDLERS, SERVICE_KEY
from jupyter_deploy.server.service import DeployService, ServiceSettings
from jupyter_deploy.server.traffic import TRAFFIC_HANDLERS
from jupyter_deploy.server.watch import SCHEMA_ID, BuildWatcher

EVENT_SCHEMA = Path(__file__).parent / "events" / "build.yaml"


class DeployExtension(ExtensionApp):
    """Deploy a notebook's `predict` cell to a live API, from the Jupyter server."""

    name = "jupyter_deploy"
    description = "From a notebook's predict cell to a live prediction API."
    handlers = [*HANDLERS, *TRAFFIC_HANDLERS]  # type: ignore[assignment]

    builder_url = Unicode(
        "",
        config=True,
        help="URL of the build service (e.g. the one DevOps runs). Empty: start the embedded "
        "build service with the local backend on 127.0.0.1, stopped with the server.",
    )
    builder_token = Unicode(
        "",
        config=True,
        help=f"Bearer token of the build service at builder_url (empty: ${TOKEN_ENV}). "
        "Ignored for the embedded builder, which gets a random one.",
    )
    kernel_token = Unicode(
        "",
        config=True,
        help="Bearer token handed to kernels (for %deploy and jupyter_deploy.deploy) when "
        "builder_url is set: give a token of the `deploy` role here, so notebook users can push, "
        "read and roll back but not delete or manage keys. Empty: kernels get builder_token. "
        "The embedded builder always gives kernels its own deploy token.",
    )
    capture_timeout = Float(
        60.0, config=True, help="Seconds allowed to capture the model's values from the kernel."
    )
    request_timeout = Float(
        30.0, config=True, help="Seconds allowed for each call to the build service."
    )
    invoke_timeout = Float(
        30.0, config=True, help="Seconds allowed for a test-console call to a live API."
    )
    event_interval = Float(
        0.3, config=True, help="Seconds between checks of a running build's phase (events)."
    )
    embedded_state_dir = Unicode(
        "",
        config=True,
        help="State folder of the embedded build service "
        "(empty: <Jupyter data dir>/jupyter_deploy/builder).",
    )
    embedded_builder_options = Dict(
        {},
        config=True,
        help="Options for the embedded build service's local backend, e.g. "
        '{"reuse_site_packages": true} to build environments on top of this Python\'s packages.',
    )

    def initialize_settings(self) -> None:
        """Connect to (or start) the build service and make the one DeployService."""
        assert self.serverapp is not None
        self._embedded: Any = None
        self._saved_env = {key: os.environ.get(key) for key in (URL_ENV, TOKEN_ENV)}
        client, url, problem = self._connect_builder()
        self._watcher = BuildWatcher(client, self._emit, interval=self.event_interval, log=self.log)
        self._register_events()
        self.settings[SERVICE_KEY] = DeployService(
            self.serverapp.contents_manager,
            self.serverapp.session_manager,
            self.serverapp.kernel_manager,
            client,
            ServiceSettings(
                builder_url=url,
                embedded=not self.builder_url,
                capture_timeout=self.capture_timeout,
                invoke_timeout=self.invoke_timeout,
            ),
            on_build=self._watcher.follow,
            unavailable_reason=problem,
        )

    async def stop_extension(self) -> None:
        """Stop following builds, stop the embedded builder, restore the environment."""
        await self._watcher.stop()
        if self._embedded is not None:
            from jupyter_deploy.builder import embedded

            embedded.stop(self._embedded)
            self._embedded = None
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # --- builder --------------------------------------------------------------------------

    def _connect_builder(self) -> tuple[BuilderClient | None, str, str]:
        """(client, url, problem): the configured builder, or the embedded one started now."""
        if self.builder_url:
            url, token = self.builder_url, self.builder_token or os.environ.get(TOKEN_ENV, "")
        else:
            try:
                url, token = self._start_embedded()
            except Exception as exc:
                problem = (
                    f"The embedded build service did not start ({type(exc).__name__}: {exc}). "
                    "Set DeployExtension.builder_url to a build service, or see the server log."
                )
                self.log.exception("jupyter-deploy: embedded build service failed to start")
                return None, "", problem
        # Kernels started from now on reach the same builder (%deploy, jupyter_deploy.deploy),
        # with the embedded builder's `deploy` token (push, read, rollback), not the admin one.
        if self._embedded is not None:
            kernel_token = self._embedded.deploy_token
        else:
            kernel_token = self.kernel_token or token
        os.environ[URL_ENV], os.environ[TOKEN_ENV] = url, kernel_token
        self.log.info("jupyter-deploy: build service at %s", url)
        return BuilderClient(url, token, timeout=self.request_timeout), url, ""

    def _start_embedded(self) -> tuple[str, str]:
        from jupyter_deploy.builder import embedded

        default = Path(jupyter_data_dir(), "jupyter_deploy", "builder")
        state = Path(self.embedded_state_dir) if self.embedded_state_dir else default
        state.mkdir(parents=True, exist_ok=True)
        self._embedded = embedded.start(state, options=dict(self.embedded_builder_options))
        url, token = self._embedded.url, self._embedded.token
        return str(url), str(token)

    # --- events ---------------------------------------------------------------------------

    def _register_events(self) -> None:
        logger = getattr(self.serverapp, "event_logger", None)
        if logger is not None and SCHEMA_ID not in logger.schemas.schema_ids:
            logger.register_event_schema(EVENT_SCHEMA)

    def _emit(self, data: dict[str, Any]) -> None:
        logger = getattr(self.serverapp, "event_logger", None)
        if logger is not None:
            logger.emit(schema_id=SCHEMA_ID, data=data)
