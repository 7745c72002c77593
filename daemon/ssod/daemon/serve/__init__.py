"""The transports: IPC (ZeroMQ), the fast socket, and the ECS and IMDS HTTP endpoints. They hand
every request to the engine and never call AWS themselves.
"""
