"""Where a tenant's items come from (providers), what they are called (naming), and the merged view."""
