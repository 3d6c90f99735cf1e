from licreport.cli import run

run()
