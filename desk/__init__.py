"""The sales desk: where reps and tenant admins work every day (opportunities, the
conversations inbox with takeover, the dashboard). It sits on top of the channels."""
