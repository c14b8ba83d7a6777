from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The article's demo: its example tasks, and the squares job types the load tests and benchmarks run."""

    name = "celerity.demo"
    label = "demo"

    def ready(self) -> None:
        from celerity.demo import squares

        squares.register()
