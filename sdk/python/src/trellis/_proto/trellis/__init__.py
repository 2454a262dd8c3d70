"""Generated from proto/ by scripts/gen-python-proto.sh; do not edit."""
