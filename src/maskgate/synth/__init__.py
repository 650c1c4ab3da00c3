"""Synth: labelled (original, edited) pairs with known defects, to measure and calibrate on."""
