"""`fabnode demo` (`make run`): a seeded three-lab federation on loopback, its parts
and its seed data. Drives real `fabnode run` processes through their HTTP API."""
