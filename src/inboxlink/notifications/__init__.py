"""In-app notifications (and later email): who is told, and the list a user reads.
Must not import web/ or providers/."""
