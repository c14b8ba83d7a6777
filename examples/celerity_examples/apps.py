from django.apps import AppConfig


class ExamplesConfig(AppConfig):
    name = "celerity_examples"
    label = "celerity_examples"
    verbose_name = "Celerity example job types"

    def ready(self) -> None:
        # Registering is importing: the decorators run. Here, not at module level, because an app's module is
        # imported before the models are ready, and the registry needs them.
        from celerity_examples import jobtypes  # noqa: F401 - imported for its @job_type registrations
