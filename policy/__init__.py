"""Policy files and the per-recipient decision they lead to."""
