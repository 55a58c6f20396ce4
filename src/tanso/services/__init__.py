"""Use cases. Each public function is one unit of work: it checks who asks, plans with the
domain, writes through the repositories and records one journal entry, all in one transaction."""
