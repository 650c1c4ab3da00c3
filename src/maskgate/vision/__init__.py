"""What make and check both see in an image: saliency passes, text detection and the one text
filter, hole fills and blending. Pure functions on arrays plus the model sessions they need."""
