"""The transports: IPC, the fast socket, the ECS and IMDS endpoints. They ask the engine."""
