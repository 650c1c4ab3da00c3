from maskgate.cli import app

app()
