import './base.css';
import './templates.css';
