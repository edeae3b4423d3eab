"""bench_loadtest.py's baseline: a bare FastHttpUser asking GET /livez, nothing else."""

from locust import FastHttpUser, constant, task


class BareLivez(FastHttpUser):
    wait_time = constant(0)

    @task
    def livez(self) -> None:
        self.client.get("/livez")
