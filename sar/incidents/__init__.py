"""Incident rules over tracks and the river model, and the incidents they raise."""
