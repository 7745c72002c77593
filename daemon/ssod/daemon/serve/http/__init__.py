"""What the ECS and IMDS endpoints share: listeners, listen policy, guard, peers, links."""
