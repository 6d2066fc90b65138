"""Where a tenant's tools, resources and prompts come from, and what they are called."""
